// <bf-json-editor>: a plain-text JSON editor with line numbers and one marked line (where the
// current error is). The text is `value`; typing sends the textarea's own `input` event, which
// crosses the shadow root.
import { css, html, LitElement, nothing } from 'lit';

/** Must match the textarea's CSS line-height and padding, so the mark sits on its line. */
const LINE_PX = 20;
const PAD_PX = 8;

export class BfJsonEditor extends LitElement {
  static override properties = { value: {}, label: {}, markedLine: { type: Number }, readonly: { type: Boolean }, textScroll: { state: true } };
  value = '';
  label = '';
  /** 1-based line to mark, or 0 for none. */
  markedLine = 0;
  readonly = false;
  textScroll = 0;

  static override styles = css`
    :host { display: block; }
    .frame { position: relative; display: flex; border: 1px solid var(--bf-input-border); border-radius: 4px; background: var(--bf-surface); height: 420px; overflow: hidden; }
    /* The text area draws no outline of its own (it would be clipped): the frame shows the focus. */
    .frame:has(textarea:focus-visible) { outline: 2px solid var(--bf-focus); outline-offset: 2px; }
    pre, textarea { font: 13px/${LINE_PX}px ui-monospace, SFMono-Regular, Menlo, monospace; margin: 0; padding: ${PAD_PX}px; }
    pre { color: var(--bf-faint); text-align: right; user-select: none; background: var(--bf-code-bg); border-right: 1px solid var(--bf-border); overflow: hidden; min-width: 2.5em; position: relative; z-index: 1; }
    textarea { flex: 1; border: 0; resize: none; outline: none; white-space: pre; overflow: auto; tab-size: 2; background: transparent; color: var(--bf-text); position: relative; z-index: 1; }
    .mark { position: absolute; left: 0; right: 0; height: ${LINE_PX}px; background: var(--bf-danger-bg); pointer-events: none; }
    @media (max-width: 600px) { .frame { height: 320px; } }
  `;

  private get textarea() {
    return this.renderRoot.querySelector('textarea')!;
  }

  /** Puts the caret at the start of `line` and scrolls it into view. */
  goToLine(line: number) {
    const lines = this.value.split('\n');
    const offset = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    const textarea = this.textarea;
    textarea.focus();
    textarea.setSelectionRange(offset, offset);
    textarea.scrollTop = Math.max(0, (line - 3) * LINE_PX);
  }

  /** A newly marked line out of view is scrolled to (the caret stays where it is). */
  override updated(changed: Map<string, unknown>) {
    if (!changed.has('markedLine') || this.markedLine <= 0) return;
    const textarea = this.textarea;
    const top = (this.markedLine - 1) * LINE_PX;
    if (top < textarea.scrollTop || top + LINE_PX > textarea.scrollTop + textarea.clientHeight - 2 * PAD_PX) {
      textarea.scrollTop = Math.max(0, top - 2 * LINE_PX);
    }
  }

  private onInput() {
    this.value = this.textarea.value;
  }

  /** The numbers and the mark follow the text as it scrolls. */
  private onScroll() {
    this.textScroll = this.textarea.scrollTop;
    this.renderRoot.querySelector('pre')!.scrollTop = this.textScroll;
  }

  override render() {
    const count = this.value.split('\n').length;
    return html`<div class="frame">
      ${this.markedLine > 0
        ? // Through the style property (CSSOM), which the CSP allows; a style attribute it refuses.
          html`<div class="mark" data-marked-line=${this.markedLine} .style=${`top:${PAD_PX + (this.markedLine - 1) * LINE_PX - this.textScroll}px`}></div>`
        : nothing}
      <pre aria-hidden="true">${Array.from({ length: count }, (_, i) => i + 1).join('\n')}</pre>
      <textarea aria-label=${this.label} spellcheck="false" autocomplete="off" wrap="off" ?readonly=${this.readonly}
        .value=${this.value} @input=${this.onInput} @scroll=${this.onScroll}></textarea>
    </div>`;
  }
}

customElements.define('bf-json-editor', BfJsonEditor);
