// Step definitions of features/collect.feature, for record.mjs only: each ends the way kgrade's
// own steps do (kgrade's error classes, its note attachment), without a sandbox behind them.
import { Before, Given, Then, When } from '@cucumber/cucumber';
import { NOTE_MEDIA_TYPE } from '../../../../dist/src/cucumber/parameters.js';
import { GraderError, SubmissionAssertionError } from '../../../../dist/src/errors.js';

Before({ tags: '@grader-breaks' }, function () {
  throw new GraderError('the Docker daemon is not reachable');
});

Given('the node is ready', function () {});

When('the node runs {string}', function (command) {
  this.status = command === 'true' ? 0 : 1;
  this.output = '';
  this.attach(`${command} exited ${this.status}`, NOTE_MEDIA_TYPE);
  this.attach('not a note', 'text/plain');
});

Then('it succeeds', function () {
  if (this.status !== 0) throw new SubmissionAssertionError(`expected exit status 0, saw ${this.status}`);
});

Then('its output is {string}', function (wanted) {
  if (this.output !== wanted)
    throw new SubmissionAssertionError(`expected the output "${wanted}", saw "${this.output}"`);
});

Then("the grader's own code throws a TypeError", function () {
  const missing = undefined;
  return missing.length;
});

Then('a step two definitions match', function () {});
Then(/^a step two definitions? match$/, function () {});
