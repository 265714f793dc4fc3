import { fuzzTest } from './fuzz-test.ts';
import { decideBodyTarget } from './targets/decide-body.ts';

fuzzTest(decideBodyTarget);
