// A uPlot chart that follows its container's size and is rebuilt when its options change.

import { useLayoutEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

interface Props {
  /** Builds options for a width/height; called again when `optsKey` changes. */
  makeOpts: (width: number, height: number) => uPlot.Options;
  optsKey: string;
  data: uPlot.AlignedData;
  class?: string;
  onCreate?: (u: uPlot) => void;
}

export function UPlot({ makeOpts, optsKey, data, class: cls, onCreate }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef({ data, makeOpts, onCreate });
  latest.current = { data, makeOpts, onCreate };

  // Layout effects, not effects: the chart exists before the browser paints the render that
  // marked its panel `data-state=done` (a plain effect runs a frame later, so for a frame a
  // panel said "drawn" with no canvas in it).
  useLayoutEffect(() => {
    const el = box.current!;
    const { width, height } = el.getBoundingClientRect();
    const u = new uPlot(latest.current.makeOpts(Math.max(50, width), Math.max(40, height)), latest.current.data, el);
    plot.current = u;
    latest.current.onCreate?.(u);
    let frame = 0;
    const ro = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        const r = el.getBoundingClientRect();
        if (r.width > 0 && r.height > 0 && (Math.abs(r.width - u.width) > 1 || Math.abs(r.height - u.height) > 1))
          u.setSize({ width: r.width, height: r.height });
      });
    });
    ro.observe(el);
    return () => {
      cancelAnimationFrame(frame);
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [optsKey]);

  useLayoutEffect(() => {
    if (plot.current && plot.current.data !== data) plot.current.setData(data);
  }, [data]);

  return <div ref={box} class={'uplot-box ' + (cls ?? '')} />;
}
