// Whether a profile template may be saved: it is rendered for a sample user (two sample nodes with
// every protocol) and for a user who is not served (one stand-in entry, which changes the groups),
// and each profile goes through its format's check: sing-box's references and then the real
// `sing-box check`, Clash's structure. A finding names the template line it comes from.
import { entriesFor, entryTemplates, placeholderEntry, type Entry, type EntryNode, type EntryUser } from './entries.js';
import { CLASH_SHAPE, clash, clashDocument } from './formats/clash.js';
import { SINGBOX_SHAPE, renderSingbox, singbox } from './formats/singbox.js';
import type { RenderOptions, UrlTest } from './subscription-format.js';
import { clashStructure } from './templates-clash.js';
import { CheckUnavailable, hubFilePath, singboxCheck, singboxReferences, type Finding } from './templates-singbox.js';
import { parseTemplate, pathText, sourcePath, templateLine, TemplateProblem, type Json, type Origins, type ProfileTemplate, type TemplateFormat, type TemplateShape } from './templates.js';

export const TEMPLATE_SHAPES: Record<TemplateFormat, TemplateShape> = { singbox: SINGBOX_SHAPE, clash: CLASH_SHAPE };

const SAMPLE_USER: EntryUser = {
  uuid: '6f1c2a9e-3b7d-4e58-9a0c-5d2e8f41b7a3',
  password: 'sample-password-7Qk2',
  ss_key: Buffer.alloc(32, 0x5a).toString('base64'),
};
const TLS = (server_name: string) => ({ enabled: true, server_name });
const SAMPLE_NODES: { node: EntryNode; config: Json }[] = [
  {
    node: { id: 'sample-hk-1', name: 'HK 1', address: 'hk1.example.com:50051', tags: ['hk'], multiplier: 1, unlock_marks: 'NF GPT' },
    config: {
      inbounds: [
        {
          type: 'vless', tag: 'vless-reality', listen_port: 443,
          tls: { enabled: true, server_name: 'www.example.com', reality: { enabled: true, private_key: Buffer.alloc(32, 0x42).toString('base64url'), short_id: ['0123abcd'] } },
        },
        { type: 'vmess', tag: 'vmess-ws', listen_port: 8080, transport: { type: 'ws', path: '/ws' } },
        { type: 'trojan', tag: 'trojan', listen_port: 8443, tls: TLS('hk1.example.com') },
        { type: 'shadowsocks', tag: 'ss', listen_port: 8388, method: '2022-blake3-aes-128-gcm', password: Buffer.alloc(16, 0x33).toString('base64') },
      ],
    },
  },
  {
    node: { id: 'sample-jp-2', name: 'JP 2', address: '203.0.113.20:50051', tags: ['jp'], multiplier: 2 },
    config: {
      inbounds: [
        { type: 'hysteria2', tag: 'hy2', listen_port: 443, tls: TLS('jp2.example.com') },
        { type: 'tuic', tag: 'tuic', listen_port: 8444, tls: { ...TLS('jp2.example.com'), alpn: ['h3'] } },
        { type: 'anytls', tag: 'anytls', listen_port: 9443, tls: TLS('jp2.example.com') },
      ],
    },
  },
];

/** A sample user's entries, named by `namePattern` ('' : `fallbackPattern`, the hub's sub_entry_name_template). */
const sampleEntries = (namePattern: string, fallbackPattern = ''): Entry[] =>
  entriesFor(entryTemplates(SAMPLE_NODES, ['hk', 'jp'], namePattern || fallbackPattern), SAMPLE_USER);

/** The profile of a user who is not served. */
const STAND_IN: Entry[] = [placeholderEntry('⛔ subscription expired')];

export interface CheckResult {
  ok: boolean;
  /** What checked it: the template's form, sing-box check (with the hub's reference check), or Clash's structure. */
  checker: 'template' | 'sing-box check' | 'structure';
  message?: string;
  /** The template line the finding is about. */
  line?: number;
  /** True when sing-box could not be run on the hub: nothing is wrong with the template, but it was not checked. */
  unavailable?: boolean;
}

export interface Preview {
  /** The sample user's profile; null when the template does not even parse. */
  profile: string | null;
  check: CheckResult;
  /** The parsed template, when it passed. */
  template?: ProfileTemplate;
}

export interface TemplateCheckEnv {
  /** sing-box to run `sing-box check` with (sub_singbox_binary). */
  singboxBinary: string;
  urltest: UrlTest;
  /** sub_entry_name_template, for a template without a name pattern of its own. */
  namePattern: string;
}

const RENDER = {
  singbox: { document: renderSingbox, text: singbox.render, checker: 'sing-box check' },
  clash: { document: clashDocument, text: clash.render, checker: 'structure' },
} as const;

async function findingOf(format: TemplateFormat, doc: Json, binary: string): Promise<Finding | undefined> {
  if (format === 'clash') return clashStructure(doc);
  return hubFilePath(doc) ?? singboxReferences(doc) ?? (await singboxCheck(binary, doc));
}

/** Renders the template for the sample users and checks both profiles. */
export async function previewTemplate(format: TemplateFormat, text: string, namePattern: string, env: TemplateCheckEnv): Promise<Preview> {
  const render = RENDER[format];
  let template: ProfileTemplate;
  try {
    template = parseTemplate(TEMPLATE_SHAPES[format], text, namePattern);
  } catch (error) {
    if (!(error instanceof TemplateProblem)) throw error;
    return { profile: null, check: { ok: false, checker: 'template', message: error.message, line: error.line } };
  }
  const options: RenderOptions = { urltest: env.urltest, template };
  const served = sampleEntries(namePattern, env.namePattern);
  const profile = render.text(served, options);
  for (const [entries, who] of [
    [served, ''],
    [STAND_IN, 'in the profile of a user who is not served (one stand-in entry, no usable node): '],
  ] as const) {
    const origins: Origins = new WeakMap();
    const doc = render.document(entries, options, origins);
    let finding: Finding | undefined;
    try {
      finding = await findingOf(format, doc, env.singboxBinary);
    } catch (error) {
      if (!(error instanceof CheckUnavailable)) throw error;
      const message = `sing-box check cannot run on this hub (${error.message}); set sub_singbox_binary to a sing-box 1.13 binary: a sing-box template is saved only once the real check passes`;
      return { profile, check: { ok: false, checker: 'sing-box check', message, unavailable: true } };
    }
    if (!finding) continue;
    const line = finding.path ? templateLine(text, sourcePath(doc, finding.path, origins)) : undefined;
    const where = finding.path && !finding.message.startsWith('sing-box check') ? `${pathText(finding.path)}: ` : '';
    const message = `${line === undefined ? '' : `line ${line}: `}${who}${where}${finding.message}`;
    return { profile, check: { ok: false, checker: render.checker, message, line } };
  }
  return { profile, check: { ok: true, checker: render.checker }, template };
}
