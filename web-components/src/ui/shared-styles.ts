// Styles every screen shares: headings, tables that scroll sideways on a phone, forms, buttons, states.
import { css } from 'lit';

export const screenStyles = css`
  :host { display: block; }
  h2 { font-size: 20px; margin: 8px 0 12px; }
  h3 { font-size: 16px; margin: 16px 0 8px; }
  .scroll { overflow-x: auto; }
  table { width: 100%; border-collapse: collapse; background: #fff; }
  th, td { text-align: left; padding: 8px; border-bottom: 1px solid #e4e6eb; font-size: 14px; vertical-align: top; }
  th { font-weight: 600; color: #4a5263; }
  a { color: #2456d3; }
  .error { color: #b3261e; }
  .ok { color: #1b7f3b; }
  .muted { color: #6b7280; font-size: 13px; }
  .card { background: #fff; border-radius: 6px; box-shadow: 0 1px 3px #0001; padding: 12px 16px; margin: 12px 0; }
  .row { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; margin: 8px 0; }
  input, select, textarea, button { font: inherit; font-size: 14px; }
  input, select, textarea { padding: 6px 8px; border: 1px solid #ccd; border-radius: 4px; background: #fff; min-width: 0; }
  button { padding: 6px 12px; border-radius: 4px; border: 1px solid #2456d3; background: #2456d3; color: #fff; cursor: pointer; }
  button.secondary { background: #fff; color: #2456d3; }
  button.danger { background: #b3261e; border-color: #b3261e; }
  button[disabled] { opacity: 0.5; cursor: default; }
  .badge { display: inline-block; border-radius: 3px; padding: 0 6px; font-size: 13px; background: #e8eefc; }
  .badge.active, .badge.ok { background: #dcf3e3; color: #1b7f3b; }
  .badge.suspended, .badge.error, .badge.disabled { background: #fde2e0; color: #b3261e; }
  .badge.expired, .badge.cancelled { background: #eceef2; color: #4a5263; }
  /** A row's buttons; on a phone they stack instead of widening the table. */
  td.actions button { margin: 0 0 4px; }
  .pager { display: flex; gap: 8px; align-items: center; margin: 8px 0; }
`;

/** A modal dialog over a dimmed page: `.backdrop` holding one `.dialog`. */
export const dialogStyles = css`
  .backdrop { position: fixed; inset: 0; background: #0006; display: grid; place-items: center; z-index: 10; padding: 16px; }
  .dialog { background: #fff; border-radius: 8px; padding: 20px; max-width: 420px; width: 100%; box-shadow: 0 4px 24px #0004; }
  .actions { display: flex; gap: 8px; justify-content: flex-end; }
  /* A dialog holding a form and its results (add a node, import users): wider, scrolling inside. */
  .dialog.wide { max-width: 640px; box-sizing: border-box; max-height: calc(100vh - 32px); overflow-y: auto; }
  .dialog.wide h3 { margin-top: 0; }
`;
