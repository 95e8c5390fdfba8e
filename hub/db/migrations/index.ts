// The ordered list of migrations. Listed in code (not read from a folder) so they survive bundling.
import type { Knex } from 'knex';
import * as nodes from './001-nodes.js';
import * as business from './002-business.js';
import * as metrics from './003-metrics.js';
import * as alerts from './004-alerts.js';
import * as nodeLive from './005-node-live.js';
import * as nodeLedgerId from './006-node-ledger-id.js';
import * as nodeTrafficTotals from './007-node-traffic-totals.js';
import * as nodePublicHost from './008-node-public-host.js';
import * as installTokens from './009-install-tokens.js';
import * as adminTokenVersion from './010-admin-token-version.js';
import * as nodeConfigState from './011-node-config-state.js';
import * as nodeStatus from './012-node-status.js';
import * as usageHourlyOneIndex from './013-usage-hourly-one-index.js';
import * as firewall from './014-firewall.js';
import * as nodeProbes from './015-node-probes.js';
import * as nodeInboundHealth from './016-node-inbound-health.js';
import * as batches from './017-batches.js';
import * as batchSchedules from './018-batch-schedules.js';
import * as rollouts from './019-rollouts.js';
import * as usagePending from './020-usage-pending.js';
import * as resetStrategies from './021-reset-strategies.js';
import * as adminPasswordReset from './022-admin-password-reset.js';
import * as userEvents from './023-user-events.js';
import * as profileTemplates from './024-profile-templates.js';
import * as nodeTable from './026-node-table.js';
import * as nodeUnhealthyPlugins from './030-node-unhealthy-plugins.js';

const MIGRATIONS: Record<string, Knex.Migration> = {
  '001-nodes': nodes,
  '002-business': business,
  '003-metrics': metrics,
  '004-alerts': alerts,
  '005-node-live': nodeLive,
  '006-node-ledger-id': nodeLedgerId,
  '007-node-traffic-totals': nodeTrafficTotals,
  '008-node-public-host': nodePublicHost,
  '009-install-tokens': installTokens,
  '010-admin-token-version': adminTokenVersion,
  '011-node-config-state': nodeConfigState,
  '012-node-status': nodeStatus,
  '013-usage-hourly-one-index': usageHourlyOneIndex,
  '014-firewall': firewall,
  '015-node-probes': nodeProbes,
  '016-node-inbound-health': nodeInboundHealth,
  '017-batches': batches,
  '018-batch-schedules': batchSchedules,
  '019-rollouts': rollouts,
  '020-usage-pending': usagePending,
  '021-reset-strategies': resetStrategies,
  '022-admin-password-reset': adminPasswordReset,
  '023-user-events': userEvents,
  '024-profile-templates': profileTemplates,
  '026-node-table': nodeTable,
  '030-node-unhealthy-plugins': nodeUnhealthyPlugins,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name]!,
};
