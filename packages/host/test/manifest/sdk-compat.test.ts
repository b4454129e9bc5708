import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkSdkCompat, parseSdkRange } from "../../src/manifest/sdk-compat.ts";

function rangeOf(text: string) {
  const parsed = parseSdkRange(text);
  if (!parsed.ok) assert.fail(parsed.message);
  return parsed.range;
}

describe("parseSdkRange", () => {
  test("npm syntax", () => {
    assert.equal(rangeOf("^0.1.0").range, ">=0.1.0 <0.2.0-0");
    assert.equal(rangeOf(">=0.1.0 <0.3.0").range, ">=0.1.0 <0.3.0");
    assert.equal(rangeOf("0.1.x || >=2.0.0").range, ">=0.1.0 <0.2.0-0||>=2.0.0");
    assert.equal(rangeOf("*").range, "");
  });

  test("the comma form means AND, also inside || alternatives", () => {
    assert.equal(rangeOf(">=0.1.0,<0.2.0").range, ">=0.1.0 <0.2.0");
    assert.equal(rangeOf(">=0.1.0, <0.2.0").range, ">=0.1.0 <0.2.0");
    assert.equal(rangeOf(">=0.1.0,<0.2.0 || >=1.0.0,<1.1.0").range, ">=0.1.0 <0.2.0||>=1.0.0 <1.1.0");
    assert.equal(rangeOf(">=0.1.0,<0.2.0").test("0.1.5"), true);
    assert.equal(rangeOf(">=0.1.0,<0.2.0").test("0.2.0"), false);
  });

  test("text that is not a range, including an empty one", () => {
    for (const text of [">=banana", "latest", "", "  ", ">=0.1.0,<banana", "1.0.0 ||| 2"]) {
      assert.deepEqual(parseSdkRange(text), { ok: false, message: `'${text}' is not a version range` }, text);
    }
  });
});

describe("checkSdkCompat", () => {
  test("no [plugin.sdk], or an empty one, is ok", () => {
    assert.deepEqual(checkSdkCompat(undefined, "0.1.0"), { verdict: "ok", messages: [] });
    assert.deepEqual(checkSdkCompat({}, "0.1.0"), { verdict: "ok", messages: [] });
  });

  test("inside conflicts → refuse, npm and comma forms", () => {
    assert.deepEqual(checkSdkCompat({ conflicts: "<0.2.0" }, "0.1.0"), {
      verdict: "refuse",
      messages: ["SDK 0.1.0 is inside conflicts range '<0.2.0'"],
    });
    assert.deepEqual(checkSdkCompat({ conflicts: ">=0.1.0,<0.2.0" }, "0.1.9"), {
      verdict: "refuse",
      messages: ["SDK 0.1.9 is inside conflicts range '>=0.1.0,<0.2.0'"],
    });
    assert.deepEqual(checkSdkCompat({ conflicts: ">=0.1.0,<0.2.0" }, "0.2.0"), { verdict: "ok", messages: [] });
  });

  test("supported given and outside both supported and untested → refuse", () => {
    assert.deepEqual(checkSdkCompat({ supported: ">=0.1.0 <0.3.0" }, "0.3.0"), {
      verdict: "refuse",
      messages: ["SDK 0.3.0 is outside supported range '>=0.1.0 <0.3.0'"],
    });
    assert.deepEqual(checkSdkCompat({ supported: ">=0.1.0,<0.3.0", untested: "^0.3.0" }, "0.4.0"), {
      verdict: "refuse",
      messages: ["SDK 0.4.0 is outside supported range '>=0.1.0,<0.3.0' and untested range '^0.3.0'"],
    });
    assert.deepEqual(checkSdkCompat({ supported: "^0.1.0" }, "0.1.4"), { verdict: "ok", messages: [] });
  });

  test("inside untested only → warn, npm and comma forms", () => {
    assert.deepEqual(checkSdkCompat({ supported: "^0.1.0", untested: ">=0.2.0,<0.3.0" }, "0.2.1"), {
      verdict: "warn",
      messages: ["SDK 0.2.1 is inside untested range '>=0.2.0,<0.3.0' only"],
    });
    assert.deepEqual(checkSdkCompat({ untested: "^0.2.0" }, "0.2.1"), {
      verdict: "warn",
      messages: ["SDK 0.2.1 is inside untested range '^0.2.0' only"],
    });
    // Inside supported as well: the untested range adds nothing to worry about.
    assert.deepEqual(checkSdkCompat({ supported: ">=0.1.0", untested: "^0.2.0" }, "0.2.1"), {
      verdict: "ok",
      messages: [],
    });
  });

  test("outside recommended → warn, npm and comma forms", () => {
    assert.deepEqual(checkSdkCompat({ recommended: "^0.2.0" }, "0.1.0"), {
      verdict: "warn",
      messages: ["SDK 0.1.0 is outside recommended range '^0.2.0'"],
    });
    assert.deepEqual(checkSdkCompat({ recommended: ">=0.2.0,<0.3.0" }, "0.3.0"), {
      verdict: "warn",
      messages: ["SDK 0.3.0 is outside recommended range '>=0.2.0,<0.3.0'"],
    });
    assert.deepEqual(checkSdkCompat({ recommended: ">=0.2.0,<0.3.0" }, "0.2.5"), { verdict: "ok", messages: [] });
  });

  test("warnings add up; a refusal reports only its reasons", () => {
    assert.deepEqual(checkSdkCompat({ recommended: "^0.3.0", untested: "^0.2.0" }, "0.2.0"), {
      verdict: "warn",
      messages: ["SDK 0.2.0 is inside untested range '^0.2.0' only", "SDK 0.2.0 is outside recommended range '^0.3.0'"],
    });
    assert.deepEqual(checkSdkCompat({ recommended: "^0.3.0", supported: "^0.3.0", conflicts: "0.2.0" }, "0.2.0"), {
      verdict: "refuse",
      messages: ["SDK 0.2.0 is inside conflicts range '0.2.0'", "SDK 0.2.0 is outside supported range '^0.3.0'"],
    });
  });

  test("a pre-release host is judged by its numbers", () => {
    assert.deepEqual(checkSdkCompat({ supported: "^0.2.0" }, "0.2.1-dev.3"), { verdict: "ok", messages: [] });
    assert.deepEqual(checkSdkCompat({ conflicts: "<0.2.0" }, "0.2.0-dev"), {
      verdict: "refuse",
      messages: ["SDK 0.2.0-dev is inside conflicts range '<0.2.0'"],
    });
  });

  test("an unparseable range reaching the check refuses instead of being ignored", () => {
    assert.deepEqual(checkSdkCompat({ supported: ">=banana" }, "0.1.0"), {
      verdict: "refuse",
      messages: ["[plugin.sdk].supported '>=banana' is not a version range"],
    });
  });

  test("a host version that is not semver is a programmer error", () => {
    assert.throws(() => checkSdkCompat(undefined, "dev"), {
      name: "TypeError",
      message: "host SDK version 'dev' is not a semver version",
    });
  });
});
