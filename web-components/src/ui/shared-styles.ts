// Styles every screen shares: headings, tables that scroll sideways on a phone, forms, buttons, states.
import { css } from 'lit';

/** Where the keyboard is: a ring on whatever has focus from the keyboard (not from a click). */
export const focusRing = css`
  :focus-visible { outline: 2px solid var(--bf-focus); outline-offset: 2px; }
`;

export const screenStyles = css`
  ${focusRing}
  :host { display: block; }
  h2 { font-size: 20px; margin: 8px 0 12px; }
  h3 { font-size: 16px; margin: 16px 0 8px; }
  .scroll { overflow-x: auto; }
  table { width: 100%; border-collapse: collapse; background: var(--bf-surface); }
  th, td { text-align: left; padding: 8px; border-bottom: 1px solid var(--bf-border); font-size: 14px; vertical-align: top; }
  th { font-weight: 600; color: var(--bf-strong-muted); }
  a { color: var(--bf-accent); }
  .error { color: var(--bf-danger); }
  .ok { color: var(--bf-ok); }
  .muted { color: var(--bf-faint); font-size: 13px; }
  .card { background: var(--bf-surface); border-radius: 6px; box-shadow: 0 1px 3px var(--bf-shadow); padding: 12px 16px; margin: 12px 0; }
  .row { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; margin: 8px 0; }
  input, select, textarea, button { font: inherit; font-size: 14px; }
  input, select, textarea { padding: 6px 8px; border: 1px solid var(--bf-input-border); border-radius: 4px; background: var(--bf-surface); color: var(--bf-text); min-width: 0; }
  button { padding: 6px 12px; border-radius: 4px; border: 1px solid var(--bf-accent); background: var(--bf-accent); color: var(--bf-on-accent); cursor: pointer; }
  button.secondary { background: var(--bf-surface); color: var(--bf-accent); }
  button.danger { background: var(--bf-danger); border-color: var(--bf-danger); }
  button[disabled] { opacity: 0.5; cursor: default; }
  .badge { display: inline-block; border-radius: 3px; padding: 0 6px; font-size: 13px; background: var(--bf-info-bg); color: var(--bf-text); }
  .badge.active, .badge.ok { background: var(--bf-ok-bg); color: var(--bf-ok); }
  .badge.suspended, .badge.error, .badge.disabled { background: var(--bf-danger-bg); color: var(--bf-danger); }
  .badge.expired, .badge.cancelled, .badge.neutral { background: var(--bf-neutral-bg); color: var(--bf-strong-muted); }
  .badge.warn { background: var(--bf-warn-bg); color: var(--bf-warn); }
  /** A row's buttons; on a phone they stack instead of widening the table. */
  td.actions button { margin: 0 0 4px; }
  .pager { display: flex; gap: 8px; align-items: center; margin: 8px 0; }
`;

/** A modal dialog over a dimmed page: `.backdrop` holding one `.dialog`. */
/** A stacked form: each label above its input. */
export const formStyles = css`
  form { display: grid; gap: 10px; }
  label { display: grid; gap: 4px; font-size: 14px; }
`;

export const dialogStyles = css`
  .backdrop { position: fixed; inset: 0; background: var(--bf-backdrop); display: grid; place-items: center; z-index: 10; padding: 16px; }
  .dialog { background: var(--bf-surface); border-radius: 8px; padding: 20px; max-width: 420px; width: 100%; box-shadow: 0 4px 24px var(--bf-shadow); }
  .actions { display: flex; gap: 8px; justify-content: flex-end; }
  /* A dialog holding a form and its results (add a node, import users): wider, scrolling inside. */
  .dialog.wide { max-width: 640px; box-sizing: border-box; max-height: calc(100vh - 32px); overflow-y: auto; }
  .dialog.wide h3 { margin-top: 0; }
`;
