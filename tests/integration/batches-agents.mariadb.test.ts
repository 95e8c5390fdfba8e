import { batchesAgentsSuite } from './batches-agents.suite.js';

batchesAgentsSuite('mariadb');
