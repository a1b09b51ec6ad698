//! Lists a page at a time through the C ABI (docs/behaviour.md#lists), called from Rust
//! exactly as a C host calls them.

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use opcore::ffi::*;
use serde_json::Value;

const FAST: &str = r#"{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1}}"#;
const SENTINEL: usize = 0x5eed;

fn c(s: &str) -> CString {
    CString::new(s).expect("no NUL")
}

fn last_error() -> String {
    // SAFETY: never NULL; copied at once.
    unsafe { CStr::from_ptr(opc_last_error_message()) }
        .to_str()
        .unwrap()
        .to_owned()
}

fn json(p: *mut c_char) -> Value {
    assert!(!p.is_null());
    // SAFETY: a string returned by opcore, freed once here.
    let text = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
    unsafe { opc_string_free(p) };
    serde_json::from_str(&text).unwrap()
}

type PageFn = unsafe extern "C" fn(
    *mut opc_store,
    *const c_char,
    *const c_char,
    u32,
    *const c_char,
    *mut *mut c_char,
) -> opc_status;

/// `opc_project_list_page` in the shape of the two filtered ones (the filter is ignored).
unsafe extern "C" fn projects(
    store: *mut opc_store,
    org: *const c_char,
    _project: *const c_char,
    limit: u32,
    cursor: *const c_char,
    out: *mut *mut c_char,
) -> opc_status {
    unsafe { opc_project_list_page(store, org, limit, cursor, out) }
}

#[test]
fn every_list_pages_through_c_with_the_manage_api_rules() {
    let dir = tempfile::tempdir().unwrap();
    let path = c(dir.path().join("opcore.db").to_str().unwrap());
    let options = c(FAST);
    let mut store = ptr::null_mut();
    assert_eq!(
        unsafe { opc_store_open(path.as_ptr(), options.as_ptr(), &mut store) },
        opc_status::OPC_OK
    );
    let mut out = ptr::null_mut();
    let name = c("Acme");
    assert_eq!(
        unsafe { opc_organization_create(store, name.as_ptr(), &mut out) },
        opc_status::OPC_OK
    );
    let org = json(out)["organization"]["id"].as_str().unwrap().to_owned();
    let o = c(&org);
    for i in 0..5 {
        let body = c(&format!(r#"{{"name":"Project {i}"}}"#));
        let mut out = ptr::null_mut();
        assert_eq!(
            unsafe { opc_project_create(store, o.as_ptr(), body.as_ptr(), &mut out) },
            opc_status::OPC_OK
        );
        let project = json(out)["id"].as_str().unwrap().to_owned();
        let body = c(&format!(r#"{{"projectId":"{project}","title":"R {i}"}}"#));
        let mut out = ptr::null_mut();
        assert_eq!(
            unsafe { opc_reference_create(store, o.as_ptr(), body.as_ptr(), &mut out) },
            opc_status::OPC_OK
        );
        json(out);
    }
    let lists: [(&str, PageFn, usize); 3] = [
        ("projects", projects, 5),
        ("clients", opc_client_list_page, 6),
        ("references", opc_reference_list_page, 5),
    ];
    for (what, page, total) in lists {
        // limit 0: everything, no cursor.
        let mut out = ptr::null_mut();
        assert_eq!(
            unsafe { page(store, o.as_ptr(), ptr::null(), 0, ptr::null(), &mut out) },
            opc_status::OPC_OK,
            "{what}: {}",
            last_error()
        );
        let all = json(out);
        assert_eq!(all["data"].as_array().unwrap().len(), total, "{what}");
        assert!(all.get("nextCursor").is_none());
        // Pages of 2 give the same rows in the same order.
        let mut seen = Vec::new();
        let mut cursor = c("");
        loop {
            let mut out = ptr::null_mut();
            assert_eq!(
                unsafe {
                    page(
                        store,
                        o.as_ptr(),
                        c("").as_ptr(),
                        2,
                        cursor.as_ptr(),
                        &mut out,
                    )
                },
                opc_status::OPC_OK,
                "{what}: {}",
                last_error()
            );
            let body = json(out);
            seen.extend(body["data"].as_array().unwrap().iter().cloned());
            match body["nextCursor"].as_str() {
                Some(next) => cursor = c(next),
                None => break,
            }
        }
        assert_eq!(&seen, all["data"].as_array().unwrap(), "{what}");
        // Bad options: OPC_INVALID_INPUT naming the parameter; the out-parameter untouched.
        for (limit, bad_cursor, field) in [(1001, "", "limit"), (1, "garbage", "cursor")] {
            let mut out: *mut c_char = SENTINEL as *mut c_char;
            let bad_cursor = c(bad_cursor);
            let status = unsafe {
                page(
                    store,
                    o.as_ptr(),
                    ptr::null(),
                    limit,
                    bad_cursor.as_ptr(),
                    &mut out,
                )
            };
            assert_eq!(status, opc_status::OPC_INVALID_INPUT, "{what}");
            assert!(last_error().contains(field), "{what}: {}", last_error());
            assert_eq!(out as usize, SENTINEL, "out_json written on failure");
        }
        // NULL organization and invalid UTF-8 in the cursor are refused before any work.
        let mut out: *mut c_char = SENTINEL as *mut c_char;
        let status = unsafe { page(store, ptr::null(), ptr::null(), 1, ptr::null(), &mut out) };
        assert_eq!(status, opc_status::OPC_NULL_ARGUMENT);
        let status = unsafe {
            page(
                store,
                o.as_ptr(),
                ptr::null(),
                1,
                c"\xff".as_ptr(),
                &mut out,
            )
        };
        assert_eq!(status, opc_status::OPC_INVALID_UTF8, "{what}");
        assert_eq!(out as usize, SENTINEL);
    }
    // An unknown project filter is OPC_NOT_FOUND.
    let mut out = ptr::null_mut();
    let nope = c("nope");
    assert_eq!(
        unsafe {
            opc_reference_list_page(store, o.as_ptr(), nope.as_ptr(), 1, ptr::null(), &mut out)
        },
        opc_status::OPC_NOT_FOUND
    );
    unsafe { opc_store_close(store) };
}
