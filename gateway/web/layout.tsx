import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import { assetUrl } from './assets';
import { type Lang, type TextKey, text } from './i18n';

export interface PageContext {
  readonly lang: Lang;
  readonly siteName: string;
  /** The session's CSRF token; absent on login pages. */
  readonly csrf?: string;
  readonly path: string;
}

const NAV: ReadonlyArray<{ href: string; key: TextKey }> = [
  { href: '/', key: 'dashboard' },
  { href: '/workers', key: 'workers' },
  { href: '/punches', key: 'punches' },
  { href: '/terminals', key: 'terminals' },
  { href: '/upstreams', key: 'upstreams' },
  { href: '/account', key: 'account' },
];

export function t(page: PageContext, key: TextKey): string {
  return text(page.lang, key);
}

/** The hidden field every form that changes something carries. */
export function Csrf(props: { page: PageContext }) {
  return <input type="hidden" name="_csrf" value={props.page.csrf ?? ''} />;
}

export function Layout(props: { page: PageContext; title: string; children?: Child; scripts?: string[] }) {
  const { page } = props;
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang={page.lang === 'zh' ? 'zh-CN' : 'en'}>
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="csrf-token" content={page.csrf ?? ''} />
          <title>{`${props.title} · ${page.siteName}`}</title>
          <link rel="stylesheet" href={assetUrl('app.css')} />
          {(props.scripts ?? []).includes('uPlot.iife.min.js') && (
            <link rel="stylesheet" href={assetUrl('uPlot.min.css')} />
          )}
        </head>
        <body>
          <TopBar page={page} />
          <main>
            <h1>{props.title}</h1>
            {props.children}
          </main>
          {(props.scripts ?? []).map((name) => (
            <script src={assetUrl(name)} />
          ))}
          <script src={assetUrl('app.js')} />
        </body>
      </html>
    </>
  );
}

/** Site name, navigation (once logged in), language switch and logout. */
function TopBar(props: { page: PageContext }) {
  const { page } = props;
  const other: Lang = page.lang === 'zh' ? 'en' : 'zh';
  return (
    <header class="top">
      <strong class="site">{page.siteName}</strong>
      {page.csrf !== undefined && (
        <nav>
          {NAV.map((item) => (
            <a
              href={item.href}
              class={
                (item.href === '/' ? page.path === '/' : page.path.startsWith(item.href)) ? 'current' : ''
              }
            >
              {t(page, item.key)}
            </a>
          ))}
        </nav>
      )}
      <span class="tools">
        <a href={`/lang/${other}?back=${encodeURIComponent(page.path)}`} id="lang-switch">
          {other === 'en' ? 'English' : '中文'}
        </a>
        {page.csrf !== undefined && (
          <form method="post" action="/logout" class="inline">
            <Csrf page={page} />
            <button type="submit" class="link">
              {t(page, 'logout')}
            </button>
          </form>
        )}
      </span>
    </header>
  );
}

export function Notice(props: { kind: 'ok' | 'error'; children?: Child }) {
  return (
    <p class={`notice ${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </p>
  );
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** `YYYY-MM-DD HH:mm:ss` in the site's zone (formatters are costly to build, so kept per zone). */
export function formatTime(ms: number | undefined, timezone: string): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  let format = formatters.get(timezone);
  if (!format) {
    format = makeFormatter(timezone);
    formatters.set(timezone, format);
  }
  return format.format(ms);
}

function makeFormatter(timezone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });
}
