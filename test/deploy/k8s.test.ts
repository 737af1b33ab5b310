/**
 * deploy/k8s/*.yaml checked offline against the Kubernetes OpenAPI schemas (kubernetes-models'
 * compiled validators), plus the rules the schemas cannot express: every Deployment has probes,
 * resources and a non-root user, every Deployment has a PodDisruptionBudget and an HPA, secrets
 * come from Secret references only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

const DIR = fileURLToPath(new URL('../../deploy/k8s/', import.meta.url));

interface Validatable {
  validate(): void;
}
const MODELS: Record<string, new (data: never) => Validatable> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/Secret': Secret,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
};

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [k: string]: unknown;
}

function manifests(): Array<{ file: string; doc: Manifest }> {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => {
        if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]?.message}`);
        return { file, doc: d.toJS() as Manifest };
      }),
    );
}

/** Variable names that hold secrets: they must come from a Secret, never a literal or a ConfigMap. */
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|KEYS?$|REDIS_URL|PRIVATE/;

interface Container {
  name: string;
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  envFrom?: Array<{ secretRef?: { name: string }; configMapRef?: { name: string } }>;
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean };
}
interface PodSpec {
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean };
}

const all = manifests();
const deployments = all.filter((m) => m.doc.kind === 'Deployment');

describe('deploy/k8s manifests', () => {
  it('when read, then there are API and worker Deployments', () => {
    expect(deployments.map((d) => d.doc.metadata.name).sort()).toEqual(['legacy-gateway-api', 'legacy-gateway-worker']);
  });

  it.each(all.map((m) => [`${m.file}: ${m.doc.kind}/${m.doc.metadata.name}`, m.doc] as const))(
    'when %s is checked against the Kubernetes schema, then it is valid',
    (_name, doc) => {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      expect(Model, `no schema wired for ${doc.apiVersion}/${doc.kind}`).toBeDefined();
      if (Model) expect(() => new Model(doc as never).validate()).not.toThrow();
    },
  );

  it('when the checker is handed a broken Deployment, then it refuses it (the check can fail)', () => {
    const broken = structuredClone(deployments[0]?.doc) as Manifest & { spec: { template: { spec: PodSpec } } };
    (broken.spec.template.spec.containers[0] as unknown as { ports: unknown }).ports = [{ containerPort: 'http' }];
    expect(() => new Deployment(broken as never).validate()).toThrow(/containerPort/);
  });

  it.each(deployments.map((d) => [d.doc.metadata.name, d.doc] as const))(
    'when %s is read, then it runs as non-root with resources, probes and secrets from Secret references',
    (name, doc) => {
      const pod = (doc.spec as { template: { spec: PodSpec } }).template.spec;
      expect(pod.securityContext?.runAsNonRoot).toBe(true);
      for (const c of pod.containers) {
        expect(c.livenessProbe, `${c.name} liveness`).toBeDefined();
        if (name.endsWith('-api')) expect(c.readinessProbe, `${c.name} readiness`).toBeDefined();
        expect(c.resources?.requests?.cpu).toBeDefined();
        expect(c.resources?.requests?.memory).toBeDefined();
        expect(c.resources?.limits?.memory).toBeDefined();
        expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
        expect(c.envFrom?.some((e) => e.secretRef)).toBe(true);
        const literalSecrets = (c.env ?? []).filter((e) => SECRET_NAME.test(e.name) && e.value !== undefined);
        expect(literalSecrets).toEqual([]);
      }
      const labels = (doc.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      const pdb = all.find(
        (m) => m.doc.kind === 'PodDisruptionBudget' && JSON.stringify((m.doc.spec as { selector: unknown }).selector) === JSON.stringify({ matchLabels: labels }),
      );
      expect(pdb, `PodDisruptionBudget for ${name}`).toBeDefined();
      const hpa = all.find((m) => m.doc.kind === 'HorizontalPodAutoscaler' && (m.doc.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === name);
      expect(hpa, `HorizontalPodAutoscaler for ${name}`).toBeDefined();
    },
  );

  it('when read, then no Secret is inline and no ConfigMap holds a secret variable', () => {
    expect(all.filter((m) => m.doc.kind === 'Secret')).toEqual([]);
    for (const m of all.filter((x) => x.doc.kind === 'ConfigMap')) {
      expect(Object.keys(m.doc.data ?? {}).filter((k) => SECRET_NAME.test(k))).toEqual([]);
    }
  });
});
