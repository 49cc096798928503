/**
 * The KubeEdge CRDs the embedded API preinstalls: every one cloudcore v1.23.1 watches is served,
 * and each matches KubeEdge's own manifest (group, names, scope, versions, status subresource).
 * The manifests are read from `KUBEEDGE_CRDS_DIR` (default: `shared/kubeedge-crds` beside the
 * repository); without them that comparison does not run and says so.
 */
import { parse } from "yaml";
import { assert, assertEquals } from "../assert.ts";
import { KUBEEDGE_CRDS } from "../../apiserver/mod.ts";
import { kubectlOk, rawRequest, startTestApi } from "./helpers.ts";
import { kubeedgeCrdsDir } from "../kubeedge_crds.ts";

type Obj = Record<string, unknown>;

function manifests(version: string): Obj[] | undefined {
  const dir = kubeedgeCrdsDir(version);
  if (!dir) return undefined;
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  return names.filter((n) => n.endsWith(".yaml")).map((n) =>
    parse(Deno.readTextFileSync(`${dir}/${n}`)) as Obj
  );
}

/** What must match: names (listKind defaulted as the API server does), scope, versions. */
function facts(crd: Obj): Obj {
  const spec = crd.spec as {
    group: string;
    names: { kind: string; listKind?: string; shortNames?: string[] } & Obj;
    scope: string;
    versions: { name: string; served: boolean; storage: boolean; subresources?: Obj }[];
  };
  return {
    name: (crd.metadata as Obj).name,
    group: spec.group,
    names: {
      plural: spec.names.plural,
      singular: spec.names.singular,
      kind: spec.names.kind,
      listKind: spec.names.listKind ?? `${spec.names.kind}List`,
      shortNames: spec.names.shortNames ?? [],
    },
    scope: spec.scope,
    versions: spec.versions.map((v) => ({
      name: v.name,
      served: v.served,
      storage: v.storage,
      status: v.subresources?.status !== undefined,
    })),
  };
}

const ours = new Map(KUBEEDGE_CRDS.map((c) => [(c.metadata as Obj).name as string, facts(c)]));

for (const release of ["v1.23.1", "v1.15.0"]) {
  const theirs = manifests(release);
  if (!theirs) console.log(`not run: KubeEdge ${release} CRD manifests (needs KUBEEDGE_CRDS_DIR)`);
  Deno.test({
    name: `preinstalled CRDs match KubeEdge ${release}'s own manifests`,
    ignore: !theirs,
    fn: () => {
      for (const crd of theirs!) {
        const want = facts(crd);
        const got = ours.get(want.name as string);
        assert(got, `${want.name} is not preinstalled`);
        if (release === "v1.23.1") {
          assertEquals(got, want, `${want.name}`);
        } else {
          // v1.15.0's devices: every version it served is served here the same way.
          const { versions, ...rest } = want;
          const { versions: gotVersions, ...gotRest } = got;
          assertEquals(gotRest, rest, `${want.name}`);
          for (const v of versions as Obj[]) {
            const g = (gotVersions as Obj[]).find((x) => x.name === v.name);
            assertEquals(g && { served: g.served, status: g.status }, {
              served: v.served,
              status: v.status,
            }, `${want.name} ${v.name}`);
          }
        }
      }
    },
  });
}

Deno.test("every KubeEdge resource cloudcore watches is served and discoverable", async () => {
  const api = await startTestApi();
  try {
    const list = await rawRequest(
      api,
      "GET",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    );
    const names = (list.json.items as Obj[]).map((c) => (c.metadata as Obj).name).sort();
    assertEquals(names, [...ours.keys()].sort());
    const out = await kubectlOk(api, ["api-resources", "-o", "name"]);
    for (
      const r of [
        "devices.devices.kubeedge.io",
        "devicestatuses.devices.kubeedge.io",
        "nodeupgradejobs.operations.kubeedge.io",
        "imageprepulljobs.operations.kubeedge.io",
        "configupdatejobs.operations.kubeedge.io",
        "rules.rules.kubeedge.io",
        "ruleendpoints.rules.kubeedge.io",
        "nodegroups.apps.kubeedge.io",
        "edgeapplications.apps.kubeedge.io",
        "serviceaccountaccesses.policy.kubeedge.io",
        "objectsyncs.reliablesyncs.kubeedge.io",
      ]
    ) assert(out.split("\n").includes(r), `${r} missing from api-resources`);
    // Short names work as with KubeEdge's manifests.
    assertEquals((await kubectlOk(api, ["get", "ng", "-o", "name"])).trim(), "");
  } finally {
    await api.dispose();
  }
});

Deno.test("an older data dir's device CRDs lose the status subresource KubeEdge's never had", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgecloud-crd-upgrade-" });
  try {
    const first = await startTestApi({ dir });
    // As an older edgecloud preinstalled it: a status subresource on each device version.
    await kubectlOk(first, [
      "patch",
      "crd",
      "devices.devices.kubeedge.io",
      "--type=json",
      "-p",
      JSON.stringify([0, 1].map((i) => ({
        op: "add",
        path: `/spec/versions/${i}/subresources`,
        value: { status: {} },
      }))),
    ]);
    await first.close();
    const again = await startTestApi({ dir });
    try {
      const crd = JSON.parse(
        await kubectlOk(again, ["get", "crd", "devices.devices.kubeedge.io", "-o", "json"]),
      );
      assertEquals(facts(crd), ours.get("devices.devices.kubeedge.io"));
    } finally {
      await again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
