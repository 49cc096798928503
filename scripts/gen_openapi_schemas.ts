/**
 * Generates apiserver/openapi_schemas.json: the OpenAPI v3 schemas (with their descriptions) of
 * the built-in kinds the embedded API serves, and every schema they refer to, taken from
 * Kubernetes v1.32's published `api/openapi-spec/v3/*.json`. `kubectl explain` reads them.
 *
 *   K8S_OPENAPI_DIR=<kubernetes checkout or module>/api/openapi-spec/v3 \
 *     deno run --allow-read --allow-write=apiserver --allow-env=K8S_OPENAPI_DIR,HOME scripts/gen_openapi_schemas.ts
 *
 * Default directory: the Go module cache's k8s.io/kubernetes@v1.32.13.
 */
const dir = Deno.env.get("K8S_OPENAPI_DIR") ??
  `${Deno.env.get("HOME")}/go/pkg/mod/k8s.io/kubernetes@v1.32.13/api/openapi-spec/v3`;

/** The group/version documents of the built-in groups served (apiserver/resources.ts). */
const FILES = [
  "api__v1_openapi.json",
  "apis__apps__v1_openapi.json",
  "apis__batch__v1_openapi.json",
  "apis__coordination.k8s.io__v1_openapi.json",
  "apis__discovery.k8s.io__v1_openapi.json",
  "apis__storage.k8s.io__v1_openapi.json",
  "apis__certificates.k8s.io__v1_openapi.json",
  "apis__apiextensions.k8s.io__v1_openapi.json",
  "apis__authorization.k8s.io__v1_openapi.json",
  "apis__autoscaling__v1_openapi.json",
  "apis__policy__v1_openapi.json",
];

type Schema = Record<string, unknown>;
const all: Record<string, Schema> = {};
for (const f of FILES) {
  const doc = JSON.parse(await Deno.readTextFile(`${dir}/${f}`)) as {
    components?: { schemas?: Record<string, Schema> };
  };
  Object.assign(all, doc.components?.schemas ?? {});
}

/** Kinds that have a GVK and whose list or object is served; their closure is kept. */
const roots = Object.entries(all).filter(([, s]) =>
  Array.isArray(s["x-kubernetes-group-version-kind"])
)
  .map(([k]) => k).filter((k) =>
    !k.endsWith("List") && !k.includes(".meta.v1.") && !k.includes("apimachinery")
  );

const keep = new Set<string>();
const visit = (name: string) => {
  if (keep.has(name) || !all[name]) return;
  keep.add(name);
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (k === "$ref" && typeof x === "string") visit(x.replace("#/components/schemas/", ""));
        else walk(x);
      }
    }
  };
  walk(all[name]);
};
for (const r of roots) visit(r);

const out: Record<string, Schema> = {};
for (const k of [...keep].sort()) out[k] = all[k];
await Deno.writeTextFile(
  new URL("../apiserver/openapi_schemas.json", import.meta.url),
  JSON.stringify(out) + "\n",
);
console.log(`wrote ${keep.size} schemas`);
