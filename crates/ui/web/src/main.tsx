// Pharos UI: the app shell (navigation) and the routes of the single-page app.
// Pages: /dashboards, /d/:uid, /explore, /traces, /trace/:id.

import { render } from 'preact';
import { DashboardPage } from './dashboard/DashboardPage';
import { DashboardList } from './DashboardList';
import { Explore } from './explore/Explore';
import { logout } from './lib/api';
import { linkClick, navigate, useLocation } from './router';
import './style.css';
import { TraceSearch } from './traces/TraceSearch';
import { TraceView } from './traces/TraceView';

function NavLink({ to, label, active }: { to: string; label: string; active: boolean }) {
  return (
    <a href={to} class={'nav-link' + (active ? ' active' : '')} onClick={(e) => linkClick(e, to)}>
      {label}
    </a>
  );
}

function App() {
  const { path } = useLocation();
  let page;
  let m: RegExpExecArray | null;
  if ((m = /^\/d\/([^/]+)/.exec(path))) page = <DashboardPage uid={decodeURIComponent(m[1])} />;
  else if (path === '/explore') page = <Explore />;
  else if (path === '/traces') page = <TraceSearch />;
  else if ((m = /^\/trace\/([^/]+)/.exec(path))) page = <TraceView id={decodeURIComponent(m[1])} />;
  else if (path === '/' || path === '/dashboards') page = <DashboardList />;
  else page = <div class="page page-error">Page not found: {path}</div>;
  return (
    <div class="app">
      <nav class="topnav">
        <a href="/" class="brand" onClick={(e) => linkClick(e, '/')}>
          <img src="/favicon.svg" alt="" width={20} height={20} /> Pharos
        </a>
        <NavLink to="/dashboards" label="Dashboards" active={path === '/' || path === '/dashboards' || path.startsWith('/d/')} />
        <NavLink to="/explore" label="Explore" active={path === '/explore'} />
        <NavLink to="/traces" label="Traces" active={path.startsWith('/trace')} />
        <span class="spacer" />
        <button class="btn link logout" onClick={() => logout()}>
          Log out
        </button>
      </nav>
      <main>{page}</main>
    </div>
  );
}

if (location.pathname === '/') navigate('/dashboards', true);
render(<App />, document.getElementById('app')!);
