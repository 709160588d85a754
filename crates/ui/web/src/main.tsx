import { render } from 'preact'; render(<div>Pharos</div>, document.getElementById('app')!);
