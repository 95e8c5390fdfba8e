// /api/v1/profile-templates/:format: the operator's shape of the sing-box and Clash.Meta profiles
// (hub/subscriptions/templates.ts). A template is saved only when the profile it renders for a
// sample user, and for a user who is not served, passes the format's check (sing-box: the hub's
// reference check and the real `sing-box check`; Clash: the structural check); otherwise the answer
// is 400 with the checker's message and the template line. Every save is a new version; DELETE goes
// back to the built-in default. /sub serves the new version from its next read.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { HubConfig } from '../config.js';
import { HubError } from '../errors.js';
import { DEFAULT_CLASH_TEMPLATE } from '../subscriptions/formats/clash.js';
import { DEFAULT_SINGBOX_TEMPLATE } from '../subscriptions/formats/singbox.js';
import { renderOptionsOf } from '../subscriptions/format.js';
import { previewTemplate, type TemplateCheckEnv } from '../subscriptions/templates-check.js';
import { currentTemplate, saveTemplate, type TemplateRow } from '../subscriptions/templates-store.js';
import { MAX_NAME_PATTERN, MAX_TEMPLATE_BYTES, SLOTS, TEMPLATE_FORMATS, type TemplateFormat } from '../subscriptions/templates.js';
import { IsoTime, Nullable, StringEnum } from './schemas.js';

const DEFAULTS: Record<TemplateFormat, string> = { singbox: DEFAULT_SINGBOX_TEMPLATE, clash: DEFAULT_CLASH_TEMPLATE };

const Params = Type.Object({ format: StringEnum(TEMPLATE_FORMATS, { description: 'singbox (JSON) or clash (Clash.Meta YAML)' }) });

const TemplateIn = Type.Object({
  template: Type.String({ minLength: 1, maxLength: MAX_TEMPLATE_BYTES, description: 'The profile document (JSON for singbox, YAML for clash) with slots ($proxies, $all, $usable, $urltest_*).' }),
  name_pattern: Type.Optional(
    Type.String({
      maxLength: MAX_NAME_PATTERN,
      description: 'Entry names from {name} {node} {region} {type} {unlock} {multiplier}, e.g. "{node} {type}" (empty: the sub_entry_name_template setting).',
    }),
  ),
});

const CheckOut = Type.Object({
  ok: Type.Boolean(),
  checker: StringEnum(['template', 'sing-box check', 'structure'] as const, { description: "what judged it: the template's form, sing-box (the hub's reference check, then sing-box check), or Clash's structural check" }),
  message: Type.Optional(Type.String({ description: "the checker's message, starting with the template line when it is known" })),
  line: Type.Optional(Type.Integer({ description: 'the template line the message is about' })),
  unavailable: Type.Optional(Type.Boolean({ description: 'sing-box could not be run on the hub (sub_singbox_binary): the template was not checked' })),
});

const TemplateOut = Type.Object({
  format: StringEnum(TEMPLATE_FORMATS),
  template: Type.String({ description: 'the current template (the default when none was saved)' }),
  name_pattern: Type.String(),
  is_default: Type.Boolean(),
  version: Nullable(Type.Integer({ description: 'the saved version; null when none was ever saved' })),
  updated_at: Nullable(IsoTime),
  updated_by: Nullable(Type.String()),
  default_template: Type.String({ description: 'the built-in default, to start from' }),
  slots: Type.Record(Type.String(), Type.String(), { description: 'each slot and what it stands for' }),
});

const SavedOut = Type.Composite([TemplateOut, Type.Object({ check: CheckOut })]);
const PreviewOut = Type.Object({
  profile: Nullable(Type.String({ description: "the sample user's profile as a client would fetch it; null when the template does not parse" })),
  check: CheckOut,
});

function templateOut(format: TemplateFormat, row: TemplateRow | undefined) {
  return {
    format,
    template: row?.body ?? DEFAULTS[format],
    name_pattern: row?.name_pattern ?? '',
    is_default: !row?.body,
    version: row?.id ?? null,
    updated_at: row ? new Date(row.created_at).toISOString() : null,
    updated_by: row?.created_by ?? null,
    default_template: DEFAULTS[format],
    slots: { ...SLOTS },
  };
}

export interface ProfileTemplateRoutesOptions {
  config: Pick<HubConfig, 'sub_singbox_binary' | 'sub_urltest_url' | 'sub_urltest_interval_s' | 'sub_urltest_tolerance_ms' | 'sub_entry_name_template'>;
}

const routes: FastifyPluginAsyncTypebox<ProfileTemplateRoutesOptions> = async (app, { config }) => {
  const env: TemplateCheckEnv = { singboxBinary: config.sub_singbox_binary, urltest: renderOptionsOf(config).urltest, namePattern: config.sub_entry_name_template };
  // A template is at most 64 KiB of text, which JSON escaping can double.
  const bodyLimit = 4 * MAX_TEMPLATE_BYTES;

  app.get('/:format', { config: { role: 'viewer' }, schema: { params: Params, response: { 200: TemplateOut } } }, async (request) =>
    templateOut(request.params.format, await currentTemplate(app.db, request.params.format)),
  );

  app.post(
    '/:format/preview',
    // Audited like every signed-in POST, though nothing changes: it runs sing-box on the hub.
    { bodyLimit, config: { role: 'admin', audit: 'profile-template.preview' }, schema: { params: Params, body: TemplateIn, response: { 200: PreviewOut } } },
    async (request) => {
      request.auditTarget = `profile-template:${request.params.format}`;
      const { profile, check } = await previewTemplate(request.params.format, request.body.template, request.body.name_pattern ?? '', env);
      return { profile, check };
    },
  );

  app.put(
    '/:format',
    { bodyLimit, config: { role: 'admin', audit: 'profile-template.save' }, schema: { params: Params, body: TemplateIn, response: { 200: SavedOut } } },
    async (request) => {
      const { format } = request.params;
      request.auditTarget = `profile-template:${format}`;
      const { check } = await previewTemplate(format, request.body.template, request.body.name_pattern ?? '', env);
      if (!check.ok) throw new HubError('HUB_ERR_BAD_REQUEST', `the ${format} template is refused: ${check.message}`);
      const row = await saveTemplate(app.db, {
        format,
        body: request.body.template,
        name_pattern: request.body.name_pattern ?? '',
        created_at: app.now(),
        created_by: request.admin!.username,
      });
      return { ...templateOut(format, row), check };
    },
  );

  app.delete(
    '/:format',
    { config: { role: 'admin', audit: 'profile-template.reset' }, schema: { params: Params, response: { 200: TemplateOut } } },
    async (request) => {
      const { format } = request.params;
      request.auditTarget = `profile-template:${format}`;
      const row = await saveTemplate(app.db, { format, body: null, name_pattern: '', created_at: app.now(), created_by: request.admin!.username });
      return templateOut(format, row);
    },
  );
};

export default routes;
