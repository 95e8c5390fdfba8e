// <bf-schema-form>: a form rendered from a JSON Schema (see ui/json-schema.ts for what it covers):
// required fields are marked, inputs start at `value` or else the schema's defaults. Sends
// `bf-submit` with the value. Children (a Cancel button) stand beside the submit button; children
// in slot "fields" (inputs the schema cannot describe, which their parent reads) follow the fields.
import { css, html, nothing } from 'lit';
import { keyed } from 'lit/directives/keyed.js';
import { t } from '../i18n.js';
import { FORM_SUBMIT } from '../ui/events.js';
import { fieldsOf, FormValueError, initialText, initialValue, valueOf, type Field, type JsonSchema } from '../ui/json-schema.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { formStyles, screenStyles } from '../ui/shared-styles.js';

export class BfSchemaForm extends LocalizedElement {
  static override properties = {
    schema: { attribute: false },
    labels: { attribute: false },
    // Compared by content, so a parent may build the object afresh on every render.
    value: { attribute: false, hasChanged: (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b) },
    submitLabel: { attribute: false },
    busy: { type: Boolean },
    disabled: { type: Boolean },
    invalid: { state: true },
  };
  schema: JsonSchema = {};
  /** Labels by field name (and enum options by `name=value`), for schemas without titles in the current language. */
  labels: Record<string, string> = {};
  /** What the inputs start with, shaped like the value the form sends (e.g. the thing being edited). */
  value: Record<string, unknown> = {};
  submitLabel = '';
  busy = false;
  disabled = false;
  invalid = '';
  /** Changed to render the inputs anew, so they show `value` again instead of what was typed. */
  private generation = 0;

  static override styles = [
    screenStyles,
    formStyles,
    css`
      label.check { display: flex; gap: 6px; align-items: center; }
      fieldset { border: 1px solid var(--bf-border); border-radius: 4px; display: grid; gap: 10px; }
      .required { color: var(--bf-danger); }
      .hint { color: var(--bf-faint); font-size: 12px; }
      .actions { display: flex; gap: 8px; }
    `,
  ];

  /** Puts every input back to its initial value (after the parent saved what was sent). */
  reset(): void {
    this.generation++;
    this.invalid = '';
    this.requestUpdate();
  }

  override willUpdate(changed: Map<string, unknown>) {
    if (changed.has('value')) this.generation++;
  }

  private submit(event: SubmitEvent) {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    this.invalid = '';
    try {
      const read = (name: string) => {
        const v = data.get(name);
        return v === null ? null : String(v);
      };
      const value = valueOf(fieldsOf(this.schema), read);
      this.dispatchEvent(new CustomEvent(FORM_SUBMIT, { detail: value, bubbles: true, composed: true }));
    } catch (error) {
      if (!(error instanceof FormValueError)) throw error;
      this.invalid = `${t('form.invalid')} ${error.message}`;
    }
  }

  private label(field: Field) {
    const text = this.labels[field.name] ?? field.schema.title ?? field.key;
    return html`<span>${text}${field.required ? html` <span class="required" title=${t('form.required')}>*</span>` : nothing}</span>`;
  }

  private hint(field: Field) {
    return field.schema.description ? html`<span class="hint">${field.schema.description}</span>` : nothing;
  }

  private field(field: Field): unknown {
    const s = field.schema;
    const value = initialText(field, this.value);
    switch (field.kind) {
      case 'object':
        return html`<fieldset><legend>${this.label(field)}</legend>${this.hint(field)}${field.children.map((c) => this.field(c))}</fieldset>`;
      case 'boolean':
        return html`<label class="check"><input type="checkbox" name=${field.name} ?checked=${initialValue(field, this.value) === true} />${this.label(field)}</label>`;
      case 'enum':
        return html`<label>${this.label(field)}
          <select name=${field.name} ?required=${field.required}>
            ${field.required ? nothing : html`<option value=""></option>`}
            ${field.options.map((o) => html`<option value=${o} ?selected=${o === value}>${this.labels[`${field.name}=${o}`] ?? o}</option>`)}
          </select>${this.hint(field)}</label>`;
      case 'integer':
      case 'number':
        return html`<label>${this.label(field)}
          <input type="number" name=${field.name} .value=${value} ?required=${field.required}
            step=${field.kind === 'integer' ? '1' : 'any'} min=${s.minimum ?? nothing} max=${s.maximum ?? nothing} />${this.hint(field)}</label>`;
      case 'strings':
        return html`<label>${this.label(field)}
          <input name=${field.name} .value=${value} ?required=${field.required} placeholder=${t('form.commaSeparated')} />${this.hint(field)}</label>`;
      case 'json':
        return html`<label>${this.label(field)}
          <textarea name=${field.name} rows="3" placeholder="JSON" .value=${value} ?required=${field.required}></textarea>${this.hint(field)}</label>`;
      default:
        return html`<label>${this.label(field)}
          <input name=${field.name} .value=${value} ?required=${field.required} type=${s.format === 'password' ? 'password' : 'text'}
            minlength=${s.minLength ?? nothing} maxlength=${s.maxLength ?? nothing} />${this.hint(field)}</label>`;
    }
  }

  override render() {
    const fields = fieldsOf(this.schema);
    return keyed(
      this.generation,
      html`<form @submit=${this.submit}>
        ${fields.map((f) => this.field(f))}
        <slot name="fields"></slot>
        ${this.invalid ? html`<div class="error" role="alert">${this.invalid}</div>` : nothing}
        <div class="actions"><button type="submit" ?disabled=${this.busy || this.disabled}>${this.submitLabel || t('form.submit')}</button><slot></slot></div>
      </form>`,
    );
  }
}

customElements.define('bf-schema-form', BfSchemaForm);
