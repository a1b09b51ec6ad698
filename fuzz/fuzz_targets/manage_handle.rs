//! `manage::handle` with a fuzzed method, target, headers and body (text form: see the crate
//! documentation), against a populated store. Every response must be one of the documented
//! statuses with a JSON body, never a 500, never a secret, never another organization's data,
//! and anything past authentication only for a root client presenting its exact secret.

#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use opcore::manage::{self, Request};
use opcore::Store;
use opcore_fuzz::{check_response, parse, Fixture, Seen, RUNS_PER_FIXTURE};

struct State {
    fixture: Fixture,
    store: Store,
    runs: u32,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    STATE.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|s| s.runs >= RUNS_PER_FIXTURE) {
            // Drop the old store before its directory goes.
            *cell = None;
            let (fixture, store) = Fixture::new();
            *cell = Some(State {
                fixture,
                store,
                runs: 0,
            });
        }
        let state = cell.as_mut().expect("state");
        state.runs += 1;
        // Throttle windows and rate-limit windows move on; deletions stay within their grace.
        state.fixture.clock.advance_secs(1);

        let raw = parse(data).substituted(&state.fixture);
        if raw.smuggles_secret(&state.fixture) {
            return;
        }
        let method = String::from_utf8_lossy(&raw.method);
        let target = String::from_utf8_lossy(&raw.target);
        let headers: Vec<(String, String)> = raw
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect();
        let header_refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let request = Request {
            method: &method,
            target: &target,
            headers: &header_refs,
            body: &raw.body,
            source: Some("192.0.2.1"),
        };
        let types = state.fixture.client_types(&state.store);
        let response = manage::handle(&state.store, &request);
        assert!(
            response.internal_error.is_none(),
            "internal error: {:?}",
            response.internal_error
        );
        check_response(
            &state.fixture,
            &types,
            &raw,
            &Seen {
                status: response.status,
                headers: response.headers.clone(),
                body: &response.body,
            },
        );
    });
});
