import type { Request } from 'express';
import { badRequest } from '../errors.js';

/**
 * Reads one query parameter as a plain string. Arrays (`code[]=a`, `code=a&code=b`), objects,
 * over-long values and control characters are refused with a 400, never a 500.
 */
export function queryString(req: Request, name: string, maxLength = 2048): string | undefined {
  const value: unknown = (req.query as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`${name} must be a single string`);
  if (value.length > maxLength) throw badRequest(`${name} is too long`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\ufffd]/.test(value)) throw badRequest(`${name} has invalid characters`);
  return value;
}

/** Same rules for a urlencoded form field. */
export function formString(req: Request, name: string, maxLength = 256): string | undefined {
  const body = req.body as Record<string, unknown> | undefined;
  const value = body && typeof body === 'object' ? body[name] : undefined;
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > maxLength) return undefined;
  return value;
}
