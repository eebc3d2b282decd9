import { createRequire } from 'node:module';

/** The parts of node-zklib 1.3.0 (untyped CommonJS) the tests and the benchmark call. */
export interface NodeZkLib {
  createSocket(onError?: (err: Error) => void, onClose?: (kind: string) => void): Promise<void>;
  getInfo(): Promise<{ userCounts: number; logCounts: number; logCapacity: number }>;
  getUsers(): Promise<{
    data: { uid: number; role: number; password: string; name: string; cardno: number; userId: string }[];
    err: Error | null;
  }>;
  getAttendances(
    progress?: (got: number, total: number) => void,
  ): Promise<{ data: { userSn: number; deviceUserId: string; recordTime: Date }[]; err: Error | null }>;
  getRealTimeLogs(listener: (event: { userId: string; attTime: Date }) => void): Promise<void>;
  disconnect(): Promise<unknown>;
}

type NodeZkLibCtor = new (ip: string, port: number, timeout: number, inport: number) => NodeZkLib;

const require = createRequire(import.meta.url);
const ZKLib = require('node-zklib') as NodeZkLibCtor;

export function nodeZkLib(port: number, timeoutMs = 5000): NodeZkLib {
  return new ZKLib('127.0.0.1', port, timeoutMs, 0);
}
