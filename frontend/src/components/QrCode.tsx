import { useEffect, useState } from 'react';

/** A QR code of `text` as inline SVG. The encoder is loaded on first use, so the pages that never
 * show a QR code do not download it. */
export function QrCode({ text, label }: { text: string; label: string }) {
  const [svg, setSvg] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    import('qr').then(({ default: encodeQR }) => {
      if (current) setSvg(encodeQR(text, 'svg', { ecc: 'medium', border: 2 }));
    });
    return () => {
      current = false;
    };
  }, [text]);
  return (
    <figure className="qr" data-testid="qr" data-text={text}>
      {svg ? <span role="img" aria-label={label} dangerouslySetInnerHTML={{ __html: svg }} /> : <span aria-busy="true">…</span>}
      <figcaption><code>{text}</code></figcaption>
    </figure>
  );
}
