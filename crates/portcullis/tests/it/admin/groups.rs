//! `/api/v1/admin/groups` and `/api/v1/admin/events`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{admin, id_of, ok_json, problem, send};
use crate::helpers::{Backend, TestApp, backend_tests};

backend_tests!(
    groups_are_listed_created_and_deleted_and_admin_always_exists,
    events_are_filtered_by_user_and_kind_paged_and_name_their_actor,
);

async fn groups_are_listed_created_and_deleted_and_admin_always_exists(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    let listed = ok_json(app.get(&root, "/api/v1/admin/groups").await).await;
    assert_eq!(listed, json!({"groups": [{"name": "admin", "description": "Administrators", "members": 1}]}));

    let create = |body: Value| send(&app, &root, Method::POST, "/api/v1/admin/groups", Some(body));
    let res = create(json!({"name": "ops", "description": "Operations"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"name": "ops", "description": "Operations", "members": 0})
    );
    let res = create(json!({"name": "dev"})).await;
    assert_eq!(res.json::<Value>().await.unwrap()["description"], "", "the description is optional");
    problem(create(json!({"name": "ops"})).await, StatusCode::CONFLICT, "conflict").await;
    for bad in ["Ops", "", "a,b", "-ops"] {
        problem(create(json!({"name": bad})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            .await;
    }
    problem(create(json!({"name": 7})).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let names = |v: &Value| -> Vec<String> {
        v["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&ok_json(app.get(&root, "/api/v1/admin/groups").await).await), ["admin", "dev", "ops"]);

    let res = send(&app, &root, Method::DELETE, "/api/v1/admin/groups/admin", None).await;
    problem(res, StatusCode::CONFLICT, "protected").await;
    let res = send(&app, &root, Method::DELETE, "/api/v1/admin/groups/ops", None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for gone in ["/api/v1/admin/groups/ops", "/api/v1/admin/groups/Nope"] {
        problem(send(&app, &root, Method::DELETE, gone, None).await, StatusCode::NOT_FOUND, "not_found")
            .await;
    }
    assert_eq!(names(&ok_json(app.get(&root, "/api/v1/admin/groups").await).await), ["admin", "dev"]);

    let root_id = id_of(&app, "root@example.com").await;
    let log = ok_json(app.get(&root, "/api/v1/admin/events?kind=group_created").await).await;
    let e = &log["events"][0];
    assert_eq!(
        (e["detail"].as_str(), e["actor_id"].as_str()),
        (Some(format!("group=dev actor={root_id}").as_str()), Some(root_id.as_str()))
    );
}

async fn events_are_filtered_by_user_and_kind_paged_and_name_their_actor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    let root_id = id_of(&app, "root@example.com").await;
    app.signed_in("ada@example.com").await;
    app.signed_in("bob@example.com").await;
    let (ada, bob) = (id_of(&app, "ada@example.com").await, id_of(&app, "bob@example.com").await);
    for id in [&ada, &bob, &ada] {
        let at = format!("/api/v1/admin/users/{id}/sign-out");
        assert_eq!(send(&app, &root, Method::POST, &at, None).await.status(), StatusCode::NO_CONTENT);
    }

    let all = ok_json(app.get(&root, "/api/v1/admin/events").await).await;
    let ids: Vec<i64> = all["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    assert_eq!(all["next"], Value::Null);
    let e = &all["events"][0];
    assert_eq!(e.as_object().unwrap().len(), 8, "{e}");
    assert_eq!((e["kind"].as_str(), e["outcome"].as_str()), (Some("signed_out_everywhere"), Some("success")));
    assert_eq!((e["user_id"].as_str(), e["actor_id"].as_str()), (Some(ada.as_str()), Some(root_id.as_str())));
    assert!(e["at"].is_string() && e["ip"].as_str().is_some_and(|ip| ip.starts_with("127.")), "{e}");

    // Pages of two over everything, joined, are the whole log.
    let mut walked = Vec::new();
    let mut url = "/api/v1/admin/events?limit=2".to_owned();
    loop {
        let page = ok_json(app.get(&root, &url).await).await;
        walked.extend(page["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()));
        let Some(next) = page["next"].as_str() else { break };
        url = format!("/api/v1/admin/events?limit=2&after={next}");
    }
    assert_eq!(walked, ids);

    let of = async |q: String| -> Vec<Value> {
        let page = ok_json(app.get(&root, &format!("/api/v1/admin/events?{q}")).await).await;
        page["events"].as_array().unwrap().clone()
    };
    let ada_events = of(format!("user={ada}")).await;
    assert!(ada_events.iter().all(|e| e["user_id"] == ada.as_str()));
    let kinds: Vec<&str> = ada_events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["signed_out_everywhere", "signed_out_everywhere", "login_succeeded", "register"]);
    let outs = of("kind=signed_out_everywhere".into()).await;
    assert_eq!(outs.len(), 3);
    assert!(outs.iter().all(|e| e["actor_id"] == root_id.as_str() && e["detail"] == "by_admin"));
    assert_eq!(of(format!("user={bob}&kind=signed_out_everywhere")).await.len(), 1);
    assert!(of(format!("user={}", uuid::Uuid::new_v4())).await.is_empty(), "a user with no events");
    for bad in ["user=nope", "kind=nope", "limit=0", "limit=201", "after=%21"] {
        let res = app.get(&root, &format!("/api/v1/admin/events?{bad}")).await;
        problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    // The user sees the administrator's changes in their own log.
    let own =
        ok_json(app.login("ada@example.com").await.get(app.url("/api/v1/me/events")).send().await.unwrap())
            .await;
    let theirs = own.as_array().unwrap().iter().filter(|e| e["type"] == "signed_out_everywhere").count();
    assert_eq!(theirs, 2);
}
