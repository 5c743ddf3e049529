/**
 * A small OTLP/HTTP receiver on loopback: takes the exporter's JSON bodies at POST /v1/traces and
 * keeps every span, flattened (ids in hex, attributes as plain values), and the raw bodies for the
 * secret scan.
 */
import { type Server, createServer } from 'node:http';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  status?: { code?: number; message?: string };
  service?: string;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** Every body received, as it came. */
  bodies: string[];
  /** Requests to any path (a control for "nothing is sent"). */
  requests: number;
  close(): Promise<void>;
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

function plain(attrs: OtlpAttribute[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of attrs ?? []) {
    const v = a.value;
    out[a.key] = v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));
  }
  return out;
}

/** OTLP/JSON ids are hex strings; an empty parent means a root. */
function flatten(body: string): ReceivedSpan[] {
  type Span = Omit<ReceivedSpan, 'attributes' | 'events' | 'service'> & {
    attributes?: OtlpAttribute[];
    events?: { name: string; attributes?: OtlpAttribute[] }[];
  };
  const doc = JSON.parse(body) as {
    resourceSpans?: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { spans?: Span[] }[] }[];
  };
  return (doc.resourceSpans ?? []).flatMap((rs) => {
    const service = plain(rs.resource?.attributes)['service.name'] as string | undefined;
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId || undefined,
        name: s.name,
        kind: s.kind,
        status: s.status,
        attributes: plain(s.attributes),
        events: (s.events ?? []).map((e) => ({ name: e.name, attributes: plain(e.attributes) })),
        service,
      })),
    );
  });
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const r: Omit<OtlpReceiver, 'url' | 'close'> = { spans: [], bodies: [], requests: 0 };
  const server: Server = createServer((req, res) => {
    r.requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.method === 'POST' && req.url === '/v1/traces') {
        r.bodies.push(body);
        r.spans.push(...flatten(body));
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return Object.assign(r, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
