// The operator's shape of the sing-box and Clash.Meta profiles /sub serves (profile templates).
import { request } from './http.js';

export const TEMPLATE_FORMATS = ['singbox', 'clash'] as const;
export type TemplateFormat = (typeof TEMPLATE_FORMATS)[number];

export interface TemplateCheck {
  ok: boolean;
  checker: 'template' | 'sing-box check' | 'structure';
  /** The checker's message, starting with the template line when it is known. */
  message?: string;
  line?: number;
  /** sing-box could not be run on the hub: the template was not checked. */
  unavailable?: boolean;
}

export interface ProfileTemplate {
  format: TemplateFormat;
  template: string;
  name_pattern: string;
  is_default: boolean;
  version: number | null;
  updated_at: string | null;
  updated_by: string | null;
  default_template: string;
  slots: Record<string, string>;
}

export interface TemplateInput {
  template: string;
  name_pattern: string;
}

export const getTemplate = (format: TemplateFormat) => request<ProfileTemplate>('GET', `/api/v1/profile-templates/${format}`);

/** Refused (400) with the checker's message when the profile it renders does not pass. */
export const saveTemplate = (format: TemplateFormat, body: TemplateInput) => request<ProfileTemplate & { check: TemplateCheck }>('PUT', `/api/v1/profile-templates/${format}`, body);

export const resetTemplate = (format: TemplateFormat) => request<ProfileTemplate>('DELETE', `/api/v1/profile-templates/${format}`);

/** The profile a sample user would get, and what the check says. */
export const previewTemplate = (format: TemplateFormat, body: TemplateInput) =>
  request<{ profile: string | null; check: TemplateCheck }>('POST', `/api/v1/profile-templates/${format}/preview`, body);
