/** The disk-free checks of a static UI registration, and the path containment test. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isPathInside, STATIC_UI_DEFAULTS, staticUiRegistrationProblem } from "../src/index.ts";

const problem = (patch: Record<string, unknown>) => staticUiRegistrationProblem({ ...STATIC_UI_DEFAULTS, ...patch });

describe("staticUiRegistrationProblem", () => {
  test("accepts the defaults and ordinary relative folders", () => {
    for (const dir of ["static", "web/dist", "./static", "a/../b", "ui/"]) {
      assert.equal(problem({ dir }), undefined, dir);
    }
    assert.equal(problem({ indexFile: "app.html", cacheControl: "public, max-age=3600" }), undefined);
  });

  test("refuses a dir that is absolute, escapes, is the plugin folder or is not a plain relative path", () => {
    const cases: Array<[unknown, RegExp]> = [
      ["/etc", /absolute path/],
      ["C:\\ui", /absolute path/],
      ["\\\\server\\share", /absolute path/],
      ["..", /escapes the plugin folder/],
      ["../other/static", /escapes the plugin folder/],
      ["static/../../x", /escapes the plugin folder/],
      [".", /not the plugin folder itself/],
      ["static/..", /not the plugin folder itself/],
      ["static\\sub", /backslash/],
      ["sta\0tic", /control characters/],
      ["", /non-empty string/],
      [42, /non-empty string/],
      ["x".repeat(1025), /longer than 1024/],
      [".git", /hidden folder/],
      ["web/.cache", /hidden folder/],
      ["data", /inside 'data\/'.*runtime data/],
      ["./data/exports", /inside 'data\/'/],
      ["node_modules/some-ui", /inside 'node_modules\/'/],
    ];
    for (const [dir, message] of cases) {
      const found = problem({ dir });
      assert.equal(found?.field, "dir", String(dir));
      assert.match(found.message, message, String(dir));
    }
  });

  test("refuses an indexFile that is not a plain file name", () => {
    for (const indexFile of ["a/index.html", "..\\x", "..", ".hidden", "", "a\nb", null]) {
      assert.equal(problem({ indexFile })?.field, "indexFile", String(indexFile));
    }
  });

  test("refuses a cacheControl that could not be a header", () => {
    for (const cacheControl of ["no-cache\r\nSet-Cookie: a=b", "é", " ", "", 3600]) {
      const found = problem({ cacheControl });
      assert.equal(found?.field, "cacheControl", String(cacheControl));
    }
  });

  test("refuses a registration that is not an object", () => {
    assert.equal(staticUiRegistrationProblem(null)?.field, "dir");
    assert.equal(staticUiRegistrationProblem("static")?.field, "dir");
  });
});

describe("isPathInside", () => {
  test("is true for the folder itself and what lies below it, false for its neighbours and parents", () => {
    assert.equal(isPathInside("/p/x", "/p/x"), true);
    assert.equal(isPathInside("/p/x", "/p/x/static/a.js"), true);
    assert.equal(isPathInside("/p/x", "/p/x/..foo"), true, "a name that starts with two dots is inside");
    assert.equal(isPathInside("/p/x", "/p/xy"), false);
    assert.equal(isPathInside("/p/x", "/p"), false);
    assert.equal(isPathInside("/p/x", "/etc/passwd"), false);
  });
});
