import { useState } from 'react';
import { gatehouse } from '../gatehouse';

/** A call to the demo API upstream through the gateway's proxy: the cookie in, an internal token out. */
export function DemoApi() {
  const [result, setResult] = useState('');
  async function call() {
    try {
      const response = await gatehouse.fetch('/api/demo/hello', { headers: { accept: 'application/json' } });
      const body: unknown = await response.json().catch(() => null);
      setResult(`${response.status}\n${JSON.stringify(body, null, 2)}`);
    } catch (e) {
      setResult(`network error: ${(e as Error).message}`);
    }
  }
  return (
    <>
      <h3>Demo API (through the gateway)</h3>
      <button type="button" id="call-api" onClick={call}>
        Call /api/demo/hello
      </button>
      <pre id="api-result">{result}</pre>
    </>
  );
}
