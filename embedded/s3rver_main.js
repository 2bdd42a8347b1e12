// The durable embedded broker's S3 store: npm s3rver (pinned in package.json) with crash-safe writes.
//
// s3rver 3.7.1 writes an object by truncating its file and streaming the body into it, and answers
// before the bytes are on disk. The broker overwrites small objects (committed offsets, group
// state) all the time, so a broker or store killed mid-write (or a full disk) left an empty offset
// file or metadata file, and Tansu's OffsetFetch then panicked on it forever (found by
// tests/e2e/test_crash.py). Here an object and its side files are written to temporary files,
// fsynced, and renamed over the old ones: a reader sees the old or the new object, never a partial
// one. Reads size the object from the bytes they read.
//
// s3rver also ignores conditional PUTs. Tansu's S3 engine keeps each partition's next offset in a
// watermark object written with If-None-Match: * (create) or If-Match: <etag> (update) and re-reads
// it only when the store answers 412. Without that answer a restarted broker, whose first request
// was a produce, rewrote the watermark from 0 and overwrote acknowledged records. Conditional PUTs
// are answered here, one write per key at a time so the check and the write cannot interleave.
//
// Usage: node s3rver_main.js <data dir> <port> <bucket>
'use strict';

const crypto = require('crypto');
const fs = require('fs-extra');
const path = require('path');
const { pick, pickBy } = require('lodash');
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const S3Object = require('s3rver/lib/models/object');
const S3Error = require('s3rver/lib/models/error');
const objectCtrl = require('s3rver/lib/controllers/object');

async function writeTemp(target, content, sync) {
  // A temporary file beside target (fsynced if sync); removed again if the write fails (ENOSPC).
  const temp = `${target}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  const md5 = crypto.createHash('md5');
  let size = 0;
  const out = await fs.open(temp, 'w');
  try {
    const chunks = Buffer.isBuffer(content) ? [content] : content;
    for await (const chunk of chunks) {
      md5.update(chunk);
      size += chunk.length;
      await fs.write(out, chunk);
    }
    if (sync) await fs.fsync(out);
  } catch (err) {
    await fs.close(out).catch(() => undefined);
    await fs.remove(temp);
    throw err;
  }
  await fs.close(out);
  return { temp, size, md5: md5.digest('hex') };
}

// The object, its md5 and its metadata are all written to temporary files first and renamed into
// place only when all three are on disk: a kill or a full disk leaves the old object whole.
FilesystemStore.prototype.putObject = async function putObject(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  const md5Path = this.getResourcePath(object.bucket, object.key, 'object.md5');
  const metadataPath = this.getResourcePath(object.bucket, object.key, 'metadata.json');
  await fs.mkdirp(path.dirname(objectPath));
  // Only the object's bytes are fsynced: the md5 and metadata are a few bytes beside them, and the
  // rename order below keeps them whole across a kill (each fsync costs a produce round trip here).
  const body = await writeTemp(objectPath, object.content, true);
  const stored = {
    ...pick(object.metadata, S3Object.ALLOWED_METADATA),
    ...pickBy(object.metadata, (value, key) => key.startsWith('x-amz-meta-')),
  };
  const temps = [body.temp];
  try {
    temps.push((await writeTemp(md5Path, Buffer.from(body.md5), false)).temp);
    temps.push((await writeTemp(metadataPath, Buffer.from(JSON.stringify(stored, null, 2)), false)).temp);
  } catch (err) {
    await Promise.all(temps.map(temp => fs.remove(temp)));
    throw err;
  }
  await fs.rename(temps[1], md5Path);
  await fs.rename(temps[2], metadataPath);
  await fs.rename(temps[0], objectPath);
  return { size: body.size, md5: body.md5 };
};

const keyLocks = new Map(); // bucket/key -> promise of the last write queued for it

async function serialized(lockKey, work) {
  const previous = keyLocks.get(lockKey) || Promise.resolve();
  const current = previous.then(work, work);
  const tail = current.catch(() => undefined);
  keyLocks.set(lockKey, tail);
  try {
    return await current;
  } finally {
    if (keyLocks.get(lockKey) === tail) keyLocks.delete(lockKey);
  }
}

const getObject = FilesystemStore.prototype.getObject;
// A read waits for a write of the same key in progress: between the renames of the md5 file and of
// the object it would pair the new ETag with the old bytes, and Tansu, reading a watermark that way,
// handed out one offset twice.
FilesystemStore.prototype.getObject = function getObjectLocked(bucket, key, options) {
  return serialized(`${bucket}/${key}`, () => getObjectWhole.call(this, bucket, key, options));
};

async function getObjectWhole(bucket, key, options) {
  if (options && (options.start !== undefined || options.end !== undefined)) {
    return getObject.call(this, bucket, key, options); // ranges: s3rver's own path
  }
  let content;
  try {
    content = await fs.readFile(this.getResourcePath(bucket, key, 'object'));
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
  const metadata = await this.getMetadata(bucket, key).catch(err => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (metadata === null) return null;
  return new S3Object(bucket, key, content, { ...metadata, 'content-length': content.length });
}

function preconditionFailed(condition) {
  return new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
    Condition: condition,
  });
}

// Tansu advances a partition's watermark before it writes the record batch and does not roll it
// back when that write fails: on a full disk it left an offset with no records, where consumers
// stalled for good. Refusing every write while free space is under a reserve makes the first write
// of a produce (the watermark) fail instead, so the broker answers an error and the collector a 503.
const RESERVE_BYTES = 64 * 1024 * 1024;

async function checkSpace(directory) {
  const stats = await fs.promises.statfs(directory);
  if (stats.bavail * stats.bsize < RESERVE_BYTES) {
    throw new S3Error('SlowDown', 'The store is out of disk space; retry when space is freed', {});
  }
}

const putObjectCtrl = objectCtrl.putObject;
objectCtrl.putObject = async function conditionalPutObject(ctx) {
  const { bucket, key } = ctx.params;
  await checkSpace(ctx.store.rootDirectory);
  return serialized(`${bucket}/${key}`, async () => {
    const ifNoneMatch = ctx.headers['if-none-match'];
    const ifMatch = ctx.headers['if-match'];
    if (ifNoneMatch !== undefined || ifMatch !== undefined) {
      const existing = await ctx.store.getMetadata(bucket, key).catch(err => {
        if (err.code === 'ENOENT') return null;
        throw err;
      });
      if (ifNoneMatch === '*' && existing !== null) throw preconditionFailed('If-None-Match');
      const unquote = tag => String(tag).replace(/^W\//, '').replace(/"/g, '');
      if (ifMatch !== undefined && (existing === null || unquote(existing.etag) !== unquote(ifMatch))) {
        throw preconditionFailed('If-Match');
      }
    }
    return putObjectCtrl(ctx);
  });
};

const [directory, port, bucket] = process.argv.slice(2);
new S3rver({
  directory,
  address: '127.0.0.1',
  port: Number(port),
  silent: true,
  allowMismatchedSignatures: true,
  configureBuckets: [{ name: bucket }],
})
  .run()
  .then(() => console.log(`s3rver listening on 127.0.0.1:${port}`))
  .catch(err => {
    console.error(err);
    process.exit(1);
  });
