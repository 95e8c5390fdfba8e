import { batchSchedulesSuite, twoHubSchedulesSuite } from './batch-schedules.suite.js';

batchSchedulesSuite('sqlite');
twoHubSchedulesSuite('sqlite');
