import { fuzzTest } from './fuzz-test.ts';
import { jwtTarget } from './targets/jwt.ts';

fuzzTest(jwtTarget);
