import type { ConfigDocumentEditor } from './config-document';
import { pageContext, type WebContext } from './context';
import { type PageNotice, type TerminalRow, TerminalsPage } from './pages/terminals';
import type { WebDeps } from './port';
import { isRawTerminal, type RawTerminal } from './terminal-form';

/**
 * The terminals page: the config file's terminals, each with its running state. Every terminal
 * route that changes something answers with it and a notice. Without a config file it is read-only.
 */
export class TerminalList {
  constructor(
    private readonly deps: WebDeps,
    readonly editor: ConfigDocumentEditor | undefined,
  ) {}

  /** The terminals as written in the config file ([] without one). */
  async raw(): Promise<RawTerminal[]> {
    if (!this.editor) return [];
    const document = await this.editor.read();
    return (document.terminals ?? []).filter(isRawTerminal);
  }

  async render(c: WebContext, notice?: PageNotice, status: 200 | 400 | 502 = 200) {
    const { deps } = this;
    return c.html(
      <TerminalsPage
        page={pageContext(c, deps.siteName)}
        rows={this.rows(await this.raw())}
        editable={this.editor !== undefined}
        timezone={deps.timezone}
        notice={notice}
      />,
      status,
    );
  }

  private rows(raws: readonly RawTerminal[]): TerminalRow[] {
    const { deps } = this;
    const rows: TerminalRow[] = raws.map((raw) => ({
      id: String(raw.id ?? ''),
      name: typeof raw.name === 'string' ? raw.name : '',
      driver: String(raw.driver ?? ''),
      address: raw.host ? `${raw.host}:${raw.port ?? ''}` : String(raw.path ?? raw.sn ?? ''),
      enabled: raw.enabled !== false,
      status: deps.terminal(String(raw.id))?.status(),
      rosterSync: deps.rosterSyncState(String(raw.id)),
    }));
    // Running terminals the file does not list (no config file) are still shown.
    for (const handle of deps.terminals()) {
      if (rows.some((r) => r.id === handle.id)) continue;
      rows.push({
        id: handle.id,
        name: '',
        driver: handle.driver.kind,
        address: '',
        enabled: true,
        status: handle.status(),
        rosterSync: deps.rosterSyncState(handle.id),
      });
    }
    return rows;
  }
}
