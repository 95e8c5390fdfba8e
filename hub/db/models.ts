// One objection model per table; only the thin part of objection (models over knex) is used.
import { Model } from 'objection';

export class Node extends Model {
  static override tableName = 'nodes';

  id!: string;
  name!: string;
  address!: string;
  insecure!: boolean;
  fingerprint!: string | null;
  certificate!: string | null;
  token!: string;
  created_at!: Date | string;
  updated_at!: Date | string;

  /** What the API shows: never the token or the certificate body. */
  toPublic() {
    return {
      id: this.id,
      name: this.name,
      address: this.address,
      insecure: Boolean(this.insecure),
      fingerprint: this.fingerprint,
      created_at: new Date(this.created_at).toISOString(),
    };
  }
}
