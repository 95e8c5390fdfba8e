import { tracingSuite } from './tracing.suite.js';

tracingSuite('sqlite');
