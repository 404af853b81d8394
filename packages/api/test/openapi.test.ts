import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { createLogger, detectJobReturnSchema, jobResourceSchema } from '@maskq/shared';
import { createApp } from '../src/index.js';
import { buildOpenApiDocument } from '../src/openapi/document.js';
import { uniquePrefix } from '../../../test-support/redis.js';
import { fakeReturn, fixture, form, startTestApi, startTestWorker, type TestApi } from './harness.js';
import { registeredRoutes } from './routes-walk.js';

const document = buildOpenApiDocument();
const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

function documentedRoutes(doc: { paths: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, item]) => Object.keys(item).filter((k) => methods.includes(k)).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

interface FoundExample {
  where: string;
  schema: unknown;
  value: unknown;
}

/** Every example in the document with the schema it must satisfy (media types, parameters, schema `examples`). */
function collectExamples(node: unknown, where: string, out: FoundExample[]): FoundExample[] {
  if (Array.isArray(node)) {
    node.forEach((n, i) => collectExamples(n, `${where}/${i}`, out));
    return out;
  }
  if (!node || typeof node !== 'object') return out;
  const obj = node as Record<string, unknown>;
  if (obj.schema && typeof obj.schema === 'object') {
    if ('example' in obj) out.push({ where: `${where}/example`, schema: obj.schema, value: obj.example });
    if (obj.examples && typeof obj.examples === 'object' && !Array.isArray(obj.examples)) {
      for (const [name, ex] of Object.entries(obj.examples as Record<string, { value: unknown }>)) {
        out.push({ where: `${where}/examples/${name}`, schema: obj.schema, value: ex.value });
      }
    }
  }
  // A schema object's own `examples` (JSON Schema 2020-12): data, not schemas; check against the schema itself.
  if (Array.isArray(obj.examples) && ('type' in obj || 'properties' in obj || '$ref' in obj || 'anyOf' in obj || 'enum' in obj || 'const' in obj)) {
    const { examples, ...schema } = obj;
    (examples as unknown[]).forEach((value, i) => out.push({ where: `${where}/examples/${i}`, schema, value }));
  }
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'example' || key === 'examples') continue;
    collectExamples(value, `${where}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, out);
  }
  return out;
}

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ prefix: uniquePrefix('openapi') });
});
afterAll(async () => {
  await api?.close();
});

describe('OpenAPI document', () => {
  it('documents exactly the routes the app registers', () => {
    const app = createApp({
      config: api.config,
      keys: api.keys,
      detectQueue: api.detectQueue,
      blobStore: api.blobStore,
      events: api.events,
      redis: api.inspect,
      logger: createLogger({ level: 'silent', name: 'openapi-test' }),
      webDist: null,
    });
    const registered = registeredRoutes(app).filter((r) => !r.includes('/admin/queues'));
    expect(registered.length).toBeGreaterThan(8);
    expect(documentedRoutes(document)).toEqual(registered);
  });

  it('every example validates against its schema (ajv, JSON Schema 2020-12)', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addFormat('binary', true);
    ajv.addSchema({ ...document, $id: 'maskq-openapi' } as object, 'maskq-openapi');
    const examples = collectExamples(document, '', []);
    expect(examples.length).toBeGreaterThan(20);
    const failures: string[] = [];
    for (const { where, schema, value } of examples) {
      // Resolve `#/components/...` against the document.
      const rebased = JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#/g, '"$ref":"maskq-openapi#')) as object;
      const validate = ajv.compile(rebased);
      if (!validate(value)) failures.push(`${where}: ${ajv.errorsText(validate.errors)}`);
    }
    expect(failures).toEqual([]);
  });

  it('a broken example is caught (the check can fail)', () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats.default(ajv);
    const schema = document.components.schemas.JobResource as object;
    expect(ajv.validate(schema, { id: 'x', status: 'done', created_at: 'now' })).toBe(false);
  });

  it('the job resource example also passes the zod schema the API builds responses with', () => {
    const ok = document.paths['/v1/jobs/{id}'].get.responses['200'].content['application/json'].examples;
    for (const { value } of Object.values(ok)) expect(jobResourceSchema.safeParse(value).success).toBe(true);
  });

  it('has the bearer security scheme, multipart and raw bodies, and error bodies per status', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    const submit = document.paths['/v1/jobs'].post;
    expect(Object.keys(submit.requestBody.content)).toEqual(['multipart/form-data', 'image/*', 'application/octet-stream']);
    const multipart = (submit.requestBody.content as Record<string, { schema: unknown }>)['multipart/form-data']!.schema as { properties: Record<string, { format?: string }>; required: string[] };
    expect(multipart.properties.image?.format).toBe('binary');
    expect(Object.keys(multipart.properties)).toEqual(expect.arrayContaining(['metadata', 'callback_url', 'callback_events', 'max_wait_ms', 'annotate']));
    expect(multipart.required).toEqual(['image']);
    for (const [status, response] of Object.entries(submit.responses)) {
      if (Number(status) >= 400) expect((response as { content: Record<string, { schema: unknown }> }).content['application/json']!.schema).toEqual({ $ref: '#/components/schemas/ErrorBody' });
    }
    expect((document.paths['/v1/detect'].post.parameters as Array<{ name: string }>).map((p) => p.name)).toContain('timeout_ms');
  });
});

describe('served documents', () => {
  it('GET /openapi.json answers the document', async () => {
    const res = await fetch(`${api.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it('GET /docs serves Swagger UI from the package, under a strict CSP, with no off-site URL', async () => {
    const res = await fetch(`${api.url}/docs`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script>[^<]/); // no inline script
    for (const asset of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
      const got = await fetch(`${api.url}${asset[1]}`);
      expect(got.status, asset[1]).toBe(200);
    }
  });

  it('a real response matches the documented schema', async () => {
    const worker = startTestWorker(api, async () => detectJobReturnSchema.parse(fakeReturn()));
    try {
      const res = await fetch(`${api.url}/v1/detect?timeout_ms=20000`, { method: 'POST', body: form([['image', fixture('mask_01.jpg'), 'a.jpg']]) });
      expect(res.status).toBe(200);
      const ajv = new Ajv2020({ strict: false });
      addFormats.default(ajv);
      ajv.addSchema({ ...document, $id: 'maskq-openapi' } as object);
      expect(ajv.validate({ $ref: 'maskq-openapi#/components/schemas/DetectResponse' }, await res.json())).toBe(true);
    } finally {
      await worker.close();
    }
  });
});
