/** Persistence across restarts: objects, resourceVersions, the change log, credentials. */
import { assert, assertEquals } from "../assert.ts";
import { rawRequest, rawWatch, startTestApi } from "./helpers.ts";

const CM = "/api/v1/namespaces/default/configmaps";
type Meta = Record<string, string>;

Deno.test("restart: objects and resourceVersions survive; a watch from an old RV resumes exactly", async () => {
  let api = await startTestApi();
  const dir = api.dir;
  try {
    const a = await rawRequest(
      api,
      "POST",
      CM,
      JSON.stringify({ metadata: { name: "a" }, data: { v: "1" } }),
    );
    const rvA = (a.json.metadata as Meta).resourceVersion;
    await rawRequest(api, "POST", CM, JSON.stringify({ metadata: { name: "b" } }));
    await rawRequest(
      api,
      "PUT",
      `${CM}/a`,
      JSON.stringify({ metadata: { name: "a" }, data: { v: "2" } }),
    );
    await rawRequest(api, "DELETE", `${CM}/b`);
    // Larger than one KV value: stored in chunks.
    const big = "x".repeat(200_000);
    const s = await rawRequest(
      api,
      "POST",
      "/api/v1/namespaces/default/secrets",
      JSON.stringify({ metadata: { name: "big" }, stringData: { blob: big } }),
    );
    assertEquals(s.status, 201);
    const before = await rawRequest(api, "GET", CM);
    const listRv = Number((before.json.metadata as Meta).resourceVersion);
    const token = api.token;
    await api.close();

    api = await startTestApi({ dir });
    assertEquals(api.token, token);
    const after = await rawRequest(api, "GET", CM);
    assertEquals(after.json.items, before.json.items);
    assertEquals(Number((after.json.metadata as Meta).resourceVersion), listRv);
    const sec = await rawRequest(api, "GET", "/api/v1/namespaces/default/secrets/big");
    assertEquals(atob((sec.json.data as Meta).blob).length, big.length);

    const w = await rawWatch(api, `${CM}?watch=1&resourceVersion=${rvA}`);
    try {
      const got: string[] = [];
      for (let i = 0; i < 3; i++) {
        const e = await w.next();
        got.push(`${e.type}:${(e.object.metadata as Meta).name}`);
      }
      assertEquals(got, ["ADDED:b", "MODIFIED:a", "DELETED:b"]);
      const c = await rawRequest(api, "POST", CM, JSON.stringify({ metadata: { name: "c" } }));
      assert(Number((c.json.metadata as Meta).resourceVersion) > listRv);
      const e = await w.next();
      assertEquals(`${e.type}:${(e.object.metadata as Meta).name}`, "ADDED:c");
    } finally {
      await w.close();
    }
  } finally {
    await api.dispose();
  }
});

Deno.test("restart: a watch from an RV older than the persisted change log gets 410 Gone", async () => {
  let api = await startTestApi({ watchLogSize: 3 });
  const dir = api.dir;
  try {
    const a = await rawRequest(api, "POST", CM, JSON.stringify({ metadata: { name: "a" } }));
    const rvA = (a.json.metadata as Meta).resourceVersion;
    for (let i = 0; i < 5; i++) {
      await rawRequest(api, "POST", CM, JSON.stringify({ metadata: { name: `n${i}` } }));
    }
    await api.close();
    api = await startTestApi({ dir, watchLogSize: 3 });
    const w = await rawWatch(api, `${CM}?watch=1&resourceVersion=${rvA}`);
    try {
      const e = await w.next();
      assertEquals([e.type, e.object.code], ["ERROR", 410]);
    } finally {
      await w.close();
    }
  } finally {
    await api.dispose();
  }
});
