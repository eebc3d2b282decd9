import { hostname, networkInterfaces } from 'node:os';
import type { MiddlewareHandler } from 'hono';

/** Interface addresses change (DHCP, a VPN coming up); read them again at most this often. */
const ADDRESS_REFRESH_MS = 5_000;
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'] as const;

export interface AllowedHostsOptions {
  /** `http.allowedHosts`: more names or addresses the box is reached by (a DNS name, a NAT address). */
  readonly configured: readonly string[];
  /** `http.host`: the address or name the server listens on, when it is not a wildcard. */
  readonly listenHost?: string;
}

/**
 * The names this box answers to. A page on another site whose DNS name is re-pointed at the box
 * (DNS rebinding) reaches it with its own name in `Host`, and the browser then treats the box as
 * that site: checking `Host` is what stops it. Allowed: loopback, the machine's host name (and
 * `<name>.local`), every interface address, the listen address and `http.allowedHosts`.
 */
export class AllowedHosts {
  private fixed: ReadonlySet<string> | undefined;
  private addresses: ReadonlySet<string> = new Set();
  private addressesReadAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly options: AllowedHostsOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a `Host` header (`name`, `name:port`, `[v6]:port`) names this box. */
  allows(hostHeader: string | undefined): boolean {
    const name = hostOf(hostHeader);
    if (name === undefined) return false;
    return this.fixedNames().has(name) || this.interfaceAddresses().has(name);
  }

  private fixedNames(): ReadonlySet<string> {
    if (!this.fixed) {
      const machine = hostname().toLowerCase();
      const short = machine.split('.')[0] ?? machine;
      const names = [...LOOPBACK_NAMES, machine, short, `${short}.local`, ...this.options.configured];
      const listen = this.options.listenHost;
      if (listen && !['0.0.0.0', '::', ''].includes(listen)) names.push(listen);
      this.fixed = new Set(names.map(normalize).filter((n) => n !== ''));
    }
    return this.fixed;
  }

  private interfaceAddresses(): ReadonlySet<string> {
    const now = this.now();
    if (now - this.addressesReadAt >= ADDRESS_REFRESH_MS) {
      const found = new Set<string>();
      for (const list of Object.values(networkInterfaces())) {
        for (const info of list ?? []) found.add(normalize(info.address));
      }
      this.addresses = found;
      this.addressesReadAt = now;
    }
    return this.addresses;
  }
}

/** Lower case, no trailing dot, IPv6 without brackets or zone. */
function normalize(name: string): string {
  let n = name.trim().toLowerCase();
  if (n.startsWith('[') && n.endsWith(']')) n = n.slice(1, -1);
  const zone = n.indexOf('%');
  if (zone >= 0) n = n.slice(0, zone);
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/** The host part of a Host header, normalized; undefined when it is missing or malformed. */
export function hostOf(header: string | undefined): string | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0) return undefined;
    const rest = value.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    return normalize(value.slice(0, end + 1));
  }
  const colon = value.indexOf(':');
  if (colon >= 0 && !/^:\d{1,5}$/.test(value.slice(colon))) return undefined;
  const name = normalize(colon >= 0 ? value.slice(0, colon) : value);
  return /^[a-z0-9._-]+$/.test(name) ? name : undefined;
}

/**
 * Refuses a request whose `Host` is not a name of this box with 421 Misdirected Request, before
 * any route: the page, the API, /healthz and /metrics alike. Terminals' ADMS pushes (/iclock) are
 * served by their own server on `adms.port` and are not checked here.
 */
export function hostCheck(allowed: AllowedHosts): MiddlewareHandler {
  return async (c, next) => {
    const host = c.req.header('host');
    if (allowed.allows(host)) return next();
    const shown = JSON.stringify((host ?? '').slice(0, 100));
    return c.text(
      `421 Misdirected Request: this gateway does not answer to the host name ${shown}. ` +
        'Use its address or host name; if this name is right, add it to http.allowedHosts in the configuration.\n',
      421,
    );
  };
}
