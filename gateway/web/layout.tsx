import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { Said } from './alert-words';
import { assetUrl } from './assets';
import { type Lang, say, type TextKey, text } from './i18n';

/** Times are written by time-format.ts alone; re-exported for the pages that import them from here. */
export { formatShortTime, formatTime } from './time-format';

/** A terminal offered in a select or listed by name (the page shows names, not ids). */
export interface TerminalChoice {
  readonly id: string;
  readonly name: string;
}

export interface PageContext {
  readonly lang: Lang;
  readonly siteName: string;
  /** The session's CSRF token; absent on login pages. */
  readonly csrf?: string;
  readonly path: string;
}

const NAV: ReadonlyArray<{ href: string; key: TextKey }> = [
  { href: '/', key: 'dashboard' },
  { href: '/muster', key: 'muster' },
  { href: '/workers', key: 'workers' },
  { href: '/punches', key: 'punches' },
  { href: '/reports', key: 'reports' },
  { href: '/terminals', key: 'terminals' },
  { href: '/upstreams', key: 'upstreams' },
  { href: '/account', key: 'account' },
];

export function t(page: PageContext, key: TextKey): string {
  return text(page.lang, key);
}

/** A label followed by the language's colon (`名称：`, `Name: `). */
export function tl(page: PageContext, key: TextKey): string {
  return `${text(page.lang, key)}${page.lang === 'en' ? ': ' : '：'}`;
}

/** `t` with values for the text's `{name}` places. */
export function tv(
  page: PageContext,
  key: TextKey,
  values: Readonly<Record<string, string | number>>,
): string {
  return say(page.lang, key, values);
}

/** The hidden field every form that changes something carries. */
export function Csrf(props: { page: PageContext }) {
  return <input type="hidden" name="_csrf" value={props.page.csrf ?? ''} />;
}

export function Layout(props: {
  page: PageContext;
  title: string;
  children?: Child;
  scripts?: string[];
  /** A page's own style sheets (asset names), after app.css. */
  styles?: string[];
}) {
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
          <link rel="icon" type="image/svg+xml" href={assetUrl('favicon.svg')} />
          <link rel="stylesheet" href={assetUrl('app.css')} />
          {(props.scripts ?? []).includes('uPlot.iife.min.js') && (
            <link rel="stylesheet" href={assetUrl('uPlot.min.css')} />
          )}
          {(props.styles ?? []).map((name) => (
            <link rel="stylesheet" href={assetUrl(name)} />
          ))}
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
        <a
          href={`/lang/${other}?back=${encodeURIComponent(page.path)}`}
          id="lang-switch"
          lang={other === 'en' ? 'en' : 'zh-CN'}
          translate="no"
        >
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

/** A text whose `backticked` parts are commands or file names: shown as code, never translated. */
export function CodeText(props: { text: string }) {
  return (
    <>{props.text.split('`').map((part, i) => (i % 2 === 1 ? <code translate="no">{part}</code> : part))}</>
  );
}

/** A message and, beside it, a peer's own words as data (kept as they came, never translated). */
export function SaidText(props: { said: Said }) {
  const { said } = props;
  return (
    <>
      {said.text}
      {said.raw && (
        <>
          {' '}
          <small class="raw" translate="no">
            {said.raw}
          </small>
        </>
      )}
    </>
  );
}
