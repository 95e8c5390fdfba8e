import { batchSchedulesSuite, twoHubSchedulesSuite } from './batch-schedules.suite.js';

batchSchedulesSuite('mariadb');
twoHubSchedulesSuite('mariadb');
