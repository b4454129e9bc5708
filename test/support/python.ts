/**
 * The Python that runs Python plugins (docs/python-plugins.md), found as the host finds it. `PYTHON_SKIP` says why a
 * Python test is skipped on a machine without one that imports zmq, msgpack and jsonschema (CI installs Debian's
 * python3-zmq, python3-msgpack and python3-jsonschema).
 */
import { findPythonInterpreter, pythonCandidates } from "@neko/host";

const found = await findPythonInterpreter(pythonCandidates(process.env));

export const PYTHON = found.ok ? found.executable : undefined;
export const PYTHON_SKIP: string | false = found.ok ? false : `no usable Python: ${found.reason}`;
