// Blobs the hub keeps outside the database (config version contents): a local folder by default,
// or an S3 bucket (MinIO or any S3) for several hub replicas. Objects are written once under a
// content-derived key and never changed, so either store needs only put, get and exists, and list
// for a backup.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import fp from 'fastify-plugin';
import { Client as MinioClient } from 'minio';
import type { HubConfig } from './config.js';
import { HubError } from './errors.js';
import { PRIVATE_DIR, PRIVATE_FILE } from './private-files.js';

export interface ObjectStore {
  /** Where the objects are, for logs and errors (never with credentials). */
  readonly location: string;
  put(key: string, body: Buffer, contentType?: string): Promise<void>;
  /** The object's bytes; a HubError HUB_ERR_NOT_FOUND when there is none. */
  get(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  /** Every key in the store, sorted. */
  list(): Promise<string[]>;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

function checkKey(key: string): string {
  if (!KEY.test(key) || key.split('/').includes('..')) throw new Error(`object key ${JSON.stringify(key)} is not a plain relative path`);
  return key;
}

const notFound = (key: string, location: string) => new HubError('HUB_ERR_NOT_FOUND', `object ${key} is missing from the object store ${location}`);

/** put's temporary file beside the object it is writing. */
const TEMPORARY = /\.[0-9a-f]{12}\.tmp$/;

/** A folder; each write goes to a temporary file renamed into place, so readers never see half an object. */
export class FolderStore implements ObjectStore {
  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  async put(key: string, body: Buffer): Promise<void> {
    const file = path.join(this.root, checkKey(key));
    await mkdir(path.dirname(file), { recursive: true, mode: PRIVATE_DIR });
    const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, body, { flush: true, mode: PRIVATE_FILE });
      await rename(temporary, file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(path.join(this.root, checkKey(key)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(key, this.location);
      throw error;
    }
  }

  async exists(key: string): Promise<boolean> {
    return stat(path.join(this.root, checkKey(key))).then(
      () => true,
      () => false,
    );
  }

  async list(): Promise<string[]> {
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    return entries
      .filter((entry) => entry.isFile() && !TEMPORARY.test(entry.name))
      .map((entry) => path.relative(this.root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
      .filter((key) => KEY.test(key))
      .sort();
  }
}

export interface S3Location {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
  /** Key prefix inside the bucket (from the URL path after the bucket), '' or ending in '/'. */
  prefix: string;
}

/** s3://ACCESS:SECRET@host:port/bucket[/prefix]?ssl=false&region=us-east-1 */
export function parseS3Url(url: string): S3Location {
  const u = new URL(url);
  const [bucket = '', ...rest] = u.pathname.replace(/^\/+/, '').split('/');
  if (!u.hostname) throw new Error('object_store_url: s3:// needs a host, e.g. s3://ACCESS:SECRET@127.0.0.1:9000/bucket');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new Error(`object_store_url: "${bucket}" is not a valid bucket name (3-63 lowercase letters, digits, dots, hyphens)`);
  }
  if (!u.username || !u.password) throw new Error('object_store_url: s3:// needs credentials, s3://ACCESS:SECRET@host/bucket');
  const ssl = u.searchParams.get('ssl') ?? 'true';
  if (!/^(true|false)$/.test(ssl)) throw new Error(`object_store_url: ssl must be true or false, not ${ssl}`);
  const useSSL = ssl === 'true';
  const prefix = rest.filter(Boolean).join('/');
  return {
    endPoint: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: decodeURIComponent(u.username),
    secretKey: decodeURIComponent(u.password),
    bucket,
    region: u.searchParams.get('region') ?? 'us-east-1',
    prefix: prefix ? `${prefix}/` : '',
  };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

const s3Code = (error: unknown) => (error as { code?: string } | null)?.code;

/** A bucket on MinIO or any S3-compatible server, through the minio client (path-style requests). */
export class S3Store implements ObjectStore {
  private readonly client: MinioClient;

  private constructor(private readonly where: S3Location) {
    this.client = new MinioClient({
      endPoint: where.endPoint,
      port: where.port,
      useSSL: where.useSSL,
      accessKey: where.accessKey,
      secretKey: where.secretKey,
      region: where.region,
      pathStyle: true,
    });
  }

  /** Connects and creates the bucket when it is missing; fails with a message naming the server. */
  static async open(url: string): Promise<S3Store> {
    const store = new S3Store(parseS3Url(url));
    try {
      if (!(await store.client.bucketExists(store.where.bucket))) {
        await store.client.makeBucket(store.where.bucket, store.where.region).catch(async (error: unknown) => {
          // Another hub replica created it meanwhile.
          if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes(s3Code(error) ?? '')) throw error;
        });
      }
    } catch (error) {
      throw new Error(`object store ${store.location}: ${(error as Error).message}`);
    }
    return store;
  }

  get location(): string {
    const { useSSL, endPoint, port, bucket, prefix } = this.where;
    return `s3://${endPoint}:${port}/${bucket}/${prefix}${useSSL ? '' : ' (no TLS)'}`;
  }

  async put(key: string, body: Buffer, contentType = 'application/octet-stream'): Promise<void> {
    await this.client.putObject(this.where.bucket, this.where.prefix + checkKey(key), body, body.length, { 'Content-Type': contentType });
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readAll(await this.client.getObject(this.where.bucket, this.where.prefix + checkKey(key)));
    } catch (error) {
      if (s3Code(error) === 'NoSuchKey' || s3Code(error) === 'NotFound') throw notFound(key, this.location);
      throw error;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.statObject(this.where.bucket, this.where.prefix + checkKey(key));
      return true;
    } catch (error) {
      if (s3Code(error) === 'NotFound' || s3Code(error) === 'NoSuchKey') return false;
      throw error;
    }
  }

  async list(): Promise<string[]> {
    const keys: string[] = [];
    for await (const item of this.client.listObjectsV2(this.where.bucket, this.where.prefix, true)) {
      if (item.name) keys.push(item.name.slice(this.where.prefix.length));
    }
    return keys.sort();
  }
}

/** The store the URL names: '' → data_dir/objects, file:///path, or s3://… */
export async function openObjectStore(url: string, dataDir: string): Promise<ObjectStore> {
  if (!url) return new FolderStore(path.join(dataDir, 'objects'));
  if (url.startsWith('file:')) return new FolderStore(fileURLToPath(url));
  if (url.startsWith('s3:')) return S3Store.open(url);
  throw new Error(`object_store_url must be empty, file:///path or s3://ACCESS:SECRET@host:port/bucket, not ${url.split(':')[0]}:…`);
}

declare module 'fastify' {
  interface FastifyInstance {
    objects: ObjectStore;
  }
}

export const objectStorePlugin = fp<{ config: HubConfig }>(
  async (app, { config }) => {
    app.decorate('objects', await openObjectStore(config.object_store_url, config.data_dir));
  },
  { name: 'object-store' },
);
