// Reads one series of an app's Prometheus registry (app.prometheus), as a scrape would see it.
import type { FastifyInstance } from 'fastify';

export async function metricValue(app: FastifyInstance, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = app.prometheus.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name} in the registry`);
  const { values } = await metric.get();
  const series = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  if (!series) throw new Error(`no series ${name}${JSON.stringify(labels)}`);
  return series.value;
}
