/**
 * Protected files load by the cookie the browser sends anyway: a plain <img src> and a plain
 * download link, never a token in the URL. Rendered only while signed in.
 */
export function ProtectedFiles() {
  return (
    <>
      <h3>Protected image (cookie-authenticated, no token in the URL)</h3>
      <img id="protected-image" src="/files/gatehouse.svg" alt="A protected file" width={160} height={160} />
      <p>
        <a id="protected-download" href="/files/report.txt" download>
          Download a protected file
        </a>
      </p>
    </>
  );
}
