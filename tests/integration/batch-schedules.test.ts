import { batchSchedulesSuite } from './batch-schedules.suite.js';

batchSchedulesSuite('sqlite');
