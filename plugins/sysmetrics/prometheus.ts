// The node's Prometheus endpoint: a plain node:http server answering GET /metrics in the text
// exposition format, written by hand (a client library would cost the agent memory it has not got).

export interface Metric {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: { labels?: Record<string, string>; value: number | null }[];
}

const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** Prometheus text format 0.0.4; samples whose value is null are left out. */
export function formatMetrics(metrics: readonly Metric[]): string {
  let out = '';
  for (const metric of metrics) {
    const samples = metric.samples.filter((s) => s.value !== null && Number.isFinite(s.value));
    if (samples.length === 0) continue;
    out += `# HELP ${metric.name} ${metric.help}\n# TYPE ${metric.name} ${metric.type}\n`;
    for (const { labels = {}, value } of samples) {
      const text = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`).join(',');
      out += `${metric.name}${text ? `{${text}}` : ''} ${value}\n`;
    }
  }
  return out;
}

/** Splits `host:port` (`[::1]:9101` for IPv6). */
export function splitListen(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(colon + 1)) };
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function serveMetrics(listen: string, collect: () => Promise<Metric[]>): Promise<MetricsServer> {
  // Loaded only when an endpoint is configured: an agent without one does not carry it.
  const http = await import('node:http');
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    collect().then(
      (metrics) => response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(formatMetrics(metrics)),
      (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
    );
  });
  const { host, port } = splitListen(listen);
  return new Promise((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`prometheus.listen ${listen}: ${error.message}`)));
    server.listen(port, host, () => {
      resolve({
        port: (server.address() as { port: number }).port,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}
