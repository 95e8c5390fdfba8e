import { userEventsSuite } from './user-events.suite.js';

userEventsSuite('sqlite');
