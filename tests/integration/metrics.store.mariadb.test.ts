import { metricsStoreSuite } from './metrics.store.suite.js';

metricsStoreSuite('mariadb');
