import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helloPluginWith, type HelloPlugin } from '../../support/hello-plugin.js';

// The example's own tests (node:test, against the SDK's harness), in a folder of its own with this
// repository's build as its boxfleet, as a plugin author runs them. The release tests run them again
// against the installed npm tarball.
describe('examples/hello-plugin', () => {
  let plugin: HelloPlugin;
  beforeAll(async () => {
    plugin = await helloPluginWith(process.cwd());
  });
  afterAll(() => plugin.cleanup());

  it("passes its own tests with boxfleet/plugin and boxfleet/plugin/testing from the package's exports", async () => {
    const { stdout } = await promisify(execFile)('npm', ['test', '--silent'], { cwd: plugin.dir });
    expect(stdout).toMatch(/# pass 3\n/);
    expect(stdout).toMatch(/# fail 0\n/);
  });
});
