//! Engine tests: parameters, variables, copy loops, conditions, the dependency graph,
//! nested deployments, outputs and error positions. Function-by-function cases live in
//! `functions/tests.rs`.

use super::plan::NestedScope;
use super::*;
use serde_json::json;
use std::collections::HashMap;

pub(crate) const SUB: &str = "00000000-0000-0000-0000-000000000000";
pub(crate) const RG: &str = "rg1";

/// A test environment: a resource group, a few live resources, a log of calls.
pub(crate) struct FakeEnv {
    pub(crate) scope: DeploymentScope,
    pub(crate) live: HashMap<String, Value>,
    pub(crate) calls: Vec<String>,
    pub(crate) guids: u32,
    pub(crate) now: i64,
}

impl FakeEnv {
    pub(crate) fn new() -> FakeEnv {
        FakeEnv {
            scope: DeploymentScope {
                tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
                subscription_id: Some(SUB.into()),
                resource_group: Some(RG.into()),
            },
            live: HashMap::new(),
            calls: Vec::new(),
            guids: 0,
            now: 1_551_808_398_000,
        }
    }

    pub(crate) fn subscription_scope() -> FakeEnv {
        let mut e = FakeEnv::new();
        e.scope.resource_group = None;
        e
    }

    /// Adds a live resource (as a deployment would have created it).
    pub(crate) fn put(&mut self, id: &str, body: Value) {
        self.live.insert(id.to_lowercase(), body);
    }
}

impl Env for FakeEnv {
    fn scope(&self) -> DeploymentScope {
        self.scope.clone()
    }

    fn resource_group(&mut self) -> Result<Value, ArmError> {
        Ok(json!({
            "id": format!("/subscriptions/{SUB}/resourceGroups/{RG}"),
            "name": RG,
            "type": "Microsoft.Resources/resourceGroups",
            "location": "westeurope",
            "properties": {"provisioningState": "Succeeded"}
        }))
    }

    fn subscription(&mut self) -> Result<Value, ArmError> {
        Ok(json!({
            "id": format!("/subscriptions/{SUB}"),
            "subscriptionId": SUB,
            "tenantId": self.scope.tenant_id,
            "displayName": "Test subscription"
        }))
    }

    fn tenant(&mut self) -> Result<Value, ArmError> {
        Ok(
            json!({"id": format!("/tenants/{}", self.scope.tenant_id), "tenantId": self.scope.tenant_id, "countryCode": "US", "displayName": "Contoso"}),
        )
    }

    fn deployment(&mut self) -> Value {
        json!({"name": "dep1", "properties": {"mode": "Incremental", "provisioningState": "Accepted"}})
    }

    fn reference(&mut self, id: &str, api_version: Option<&str>, full: bool) -> Result<Value, ArmError> {
        self.calls
            .push(format!("reference {id} {} {full}", api_version.unwrap_or("-")));
        match self.live.get(&id.to_lowercase()) {
            Some(r) if full => Ok(r.clone()),
            Some(r) => Ok(r.get("properties").cloned().unwrap_or(json!({}))),
            None => Err(ArmError::not_found(
                "ResourceNotFound",
                format!("The Resource '{id}' was not found."),
            )),
        }
    }

    fn list(&mut self, id: &str, function: &str, api_version: &str, body: Option<&Value>) -> Result<Value, ArmError> {
        self.calls.push(format!("list {id} {function} {api_version}"));
        Ok(json!({"function": function, "id": id, "body": body}))
    }

    fn new_guid(&mut self) -> String {
        self.guids += 1;
        format!("00000000-0000-4000-8000-{:012}", self.guids)
    }

    fn now_ms(&self) -> i64 {
        self.now
    }
}

fn rg_id() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{RG}")
}

fn tpl(v: Value) -> Template {
    Template::parse(&serde_json::to_string_pretty(&v).unwrap()).unwrap()
}

fn plan_ok(v: Value, params: Value) -> (Plan, FakeEnv) {
    let mut env = FakeEnv::new();
    let p = plan(&tpl(v), &params, &mut env).unwrap();
    (p, env)
}

fn plan_err(v: Value, params: Value) -> TemplateError {
    let mut env = FakeEnv::new();
    plan(&tpl(v), &params, &mut env).unwrap_err()
}

fn names(p: &Plan, wave: &[usize]) -> Vec<String> {
    wave.iter().map(|i| p.resources[*i].name.clone()).collect()
}

fn schema() -> &'static str {
    "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
}

// ---- parsing ----------------------------------------------------------------------------

#[test]
fn template_text_with_comments_and_trailing_commas_parses() {
    let text = r#"{
      // az sends the file as it is
      "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
      "contentVersion": "1.0.0.0", /* block */
      "resources": [],
    }"#;
    let t = Template::parse(text).unwrap();
    assert_eq!(t.value["contentVersion"], "1.0.0.0");
}

#[test]
fn template_parse_error_is_invalid_template_with_position() {
    let e = Template::parse("{\n  \"resources\": [\n}").unwrap_err();
    assert_eq!(e.code, "InvalidTemplate");
    assert!(
        e.message.starts_with("Deployment template parse failed: '"),
        "{}",
        e.message
    );
    assert_eq!(e.pos.unwrap().line, 3);
}

#[test]
fn template_sections_of_the_wrong_type_are_refused() {
    let e = Template::parse(r#"{"parameters": []}"#).unwrap_err();
    assert!(
        e.message.contains("'parameters' section must be of type 'object'"),
        "{}",
        e.message
    );
    assert!(Template::parse("[]").is_err());
    assert!(Template::parse(r#"{"resources": 1}"#).is_err());
}

// ---- parameters -------------------------------------------------------------------------

#[test]
fn parameters_bind_supplied_values_and_defaults() {
    let (p, _) = plan_ok(
        json!({"$schema": schema(), "parameters": {
            "name": {"type": "string"},
            "count": {"type": "int", "defaultValue": 2},
            "loc": {"type": "string", "defaultValue": "[resourceGroup().location]"},
            "full": {"type": "string", "defaultValue": "[concat(parameters('name'), '-', parameters('count'))]"}
        }, "resources": []}),
        json!({"name": {"value": "web"}}),
    );
    let vals: Vec<(&str, &Value)> = p.parameters.iter().map(|b| (b.name.as_str(), &b.value)).collect();
    assert_eq!(vals[0], ("name", &json!("web")));
    assert_eq!(vals[1], ("count", &json!(2)));
    assert_eq!(vals[2], ("loc", &json!("westeurope")));
    assert_eq!(vals[3], ("full", &json!("web-2")));
}

#[test]
fn parameter_names_match_case_insensitively() {
    let (p, _) = plan_ok(
        json!({"parameters": {"Location": {"type": "string"}}, "resources": []}),
        json!({"location": {"value": "eastus"}}),
    );
    assert_eq!(p.parameters[0].value, "eastus");
}

#[test]
fn missing_parameter_value_is_reported_with_line_column_and_path() {
    let text = "{\n  \"parameters\": {\n    \"repositoryUrl\": { \"type\": \"string\" }\n  },\n  \"resources\": []\n}";
    let t = Template::parse(text).unwrap();
    let e = plan(&t, &Value::Null, &mut FakeEnv::new()).unwrap_err();
    // microsoft/fabric-toolbox#398
    assert_eq!(
        e.message,
        "Deployment template validation failed: 'The value for the template parameter 'repositoryUrl' at line '3' and column '22' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details.'."
    );
    assert_eq!(
        e.additional_info().unwrap()[0]["info"],
        json!({"lineNumber": 3, "linePosition": 22, "path": "parameters.repositoryUrl"})
    );
}

#[test]
fn parameter_errors_inside_a_body_carry_the_body_path() {
    let body =
        "{\"properties\": {\"mode\": \"Incremental\", template: {\n\"parameters\": {\"p\": {\"type\": \"string\"}}}}}";
    let (v, pos) = json::parse(body).unwrap();
    let t = Template::from_value(
        v["properties"]["template"].clone(),
        pos.subtree("properties.template"),
        "properties.template",
    )
    .unwrap();
    let e = plan(&t, &Value::Null, &mut FakeEnv::new()).unwrap_err();
    assert_eq!(e.path.as_deref(), Some("properties.template.parameters.p"));
    assert_eq!(e.pos, Some(json::Pos { line: 2, column: 21 }));
}

#[test]
fn unknown_parameters_are_refused_listing_the_supported_ones() {
    let e = plan_err(
        json!({"parameters": {"a": {"type": "string", "defaultValue": "x"}, "b": {"type": "int", "defaultValue": 1}}, "resources": []}),
        json!({"zzz": {"value": 1}}),
    );
    assert!(
        e.message
            .contains("The template parameters 'zzz' in the parameters file are not valid"),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("The only supported parameters for this template are 'a, b'"),
        "{}",
        e.message
    );
}

#[test]
fn parameter_type_mismatch_is_refused() {
    let e = plan_err(
        json!({"parameters": {"n": {"type": "int"}}, "resources": []}),
        json!({"n": {"value": "5"}}),
    );
    assert!(
        e.message
            .contains("Template parameter JToken type is not valid. Expected 'Integer'. Actual 'String'."),
        "{}",
        e.message
    );
    for (t, v) in [
        ("bool", json!(1)),
        ("object", json!([])),
        ("array", json!({})),
        ("securestring", json!(1)),
        ("secureObject", json!("x")),
    ] {
        let e = plan_err(
            json!({"parameters": {"p": {"type": t}}, "resources": []}),
            json!({"p": {"value": v}}),
        );
        assert!(e.message.contains("JToken type is not valid"), "{t}: {}", e.message);
    }
    let e = plan_err(
        json!({"parameters": {"p": {"type": "float"}}, "resources": []}),
        json!({"p": {"value": 1}}),
    );
    assert!(e.message.contains("the type 'float' is not supported"), "{}", e.message);
}

#[test]
fn allowed_values_are_enforced_for_scalars_and_array_elements() {
    let t = json!({"parameters": {
        "sku": {"type": "string", "allowedValues": ["Standard_LRS", "Premium_LRS"]},
        "zones": {"type": "array", "defaultValue": ["1"], "allowedValues": ["1", "2", "3"]}
    }, "resources": []});
    plan_ok(
        t.clone(),
        json!({"sku": {"value": "Premium_LRS"}, "zones": {"value": ["1", "3"]}}),
    );
    let e = plan_err(t.clone(), json!({"sku": {"value": "Basic"}}));
    assert!(
        e.message
            .contains("The provided value 'Basic' for the template parameter 'sku' at line")
            && e.message
                .contains("The parameter value is not part of the allowed value(s): 'Standard_LRS,Premium_LRS'."),
        "{}",
        e.message
    );
    let e = plan_err(t, json!({"sku": {"value": "Standard_LRS"}, "zones": {"value": ["4"]}}));
    assert!(e.message.contains("'zones'"), "{}", e.message);
}

#[test]
fn min_and_max_value_and_length_are_enforced() {
    let t = json!({"parameters": {
        "n": {"type": "int", "defaultValue": 3, "minValue": 1, "maxValue": 5},
        "s": {"type": "securestring", "defaultValue": "abcdefghijkl", "minLength": 12, "maxLength": 16},
        "a": {"type": "array", "defaultValue": [1], "maxLength": 2}
    }, "resources": []});
    plan_ok(t.clone(), Value::Null);
    let e = plan_err(t.clone(), json!({"n": {"value": 0}}));
    assert!(
        e.message.contains("The value should be greater than or equal to '1'."),
        "{}",
        e.message
    );
    let e = plan_err(t.clone(), json!({"n": {"value": 6}}));
    assert!(
        e.message.contains("The value should be less than or equal to '5'."),
        "{}",
        e.message
    );
    // Seen from ARM validation (microsoft/vscode-azurearmtools#1350).
    let e = plan_err(t.clone(), json!({"s": {"value": "short"}}));
    assert!(
        e.message
            .contains("The provided value for the template parameter 's' at line"),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("Length of the value should be greater than or equal to '12'."),
        "{}",
        e.message
    );
    let e = plan_err(t.clone(), json!({"s": {"value": "x".repeat(17)}}));
    assert!(e.message.contains("less than or equal to '16'"), "{}", e.message);
    let e = plan_err(t, json!({"a": {"value": [1, 2, 3]}}));
    assert!(e.message.contains("less than or equal to '2'"), "{}", e.message);
}

#[test]
fn secure_parameters_are_never_echoed() {
    let (p, _) = plan_ok(
        json!({"parameters": {"pw": {"type": "securestring"}, "cfg": {"type": "secureObject"}, "user": {"type": "string"}}, "resources": []}),
        json!({"pw": {"value": "hunter2"}, "cfg": {"value": {"k": "v"}}, "user": {"value": "bob"}}),
    );
    let echo = p.parameters_echo();
    assert_eq!(
        echo,
        json!({"pw": {"type": "SecureString"}, "cfg": {"type": "SecureObject"}, "user": {"type": "String", "value": "bob"}})
    );
    assert!(!echo.to_string().contains("hunter2"));
}

#[test]
fn new_guid_and_utc_now_work_only_in_parameter_defaults() {
    // template-functions-string#newguid, template-functions-date#utcnow
    let (p, _) = plan_ok(
        json!({"parameters": {
            "g": {"type": "string", "defaultValue": "[newGuid()]"},
            "t": {"type": "string", "defaultValue": "[utcNow()]"},
            "d": {"type": "string", "defaultValue": "[utcNow('d')]"}
        }, "resources": []}),
        Value::Null,
    );
    assert_eq!(p.parameters[0].value, "00000000-0000-4000-8000-000000000001");
    assert_eq!(p.parameters[1].value, "20190305T175318Z");
    assert_eq!(p.parameters[2].value, "03/05/2019");
    let e = plan_err(json!({"variables": {"g": "[newGuid()]"}, "resources": []}), Value::Null);
    assert!(
        e.message
            .contains("The template function 'newGuid' is not expected at this location."),
        "{}",
        e.message
    );
    let e = plan_err(json!({"variables": {"g": "[utcNow()]"}, "resources": []}), Value::Null);
    assert!(e.message.contains("'utcNow' is not expected"), "{}", e.message);
}

#[test]
fn a_parameter_default_cannot_read_variables() {
    let e = plan_err(
        json!({"parameters": {"p": {"type": "string", "defaultValue": "[variables('v')]"}}, "variables": {"v": "x"}, "resources": []}),
        Value::Null,
    );
    assert!(
        e.message
            .contains("The template function 'variables' is not expected at this location."),
        "{}",
        e.message
    );
}

// ---- variables --------------------------------------------------------------------------

#[test]
fn variables_resolve_in_any_order_and_detect_cycles() {
    let (p, _) = plan_ok(
        json!({"variables": {"b": "[concat(variables('a'), '-b')]", "a": "[toUpper('a')]", "o": {"x": "[variables('b')]"}}, "resources": []}),
        Value::Null,
    );
    assert_eq!(
        p.variables(),
        *json!({"b": "A-b", "a": "A", "o": {"x": "A-b"}}).as_object().unwrap()
    );
    let e = plan_err(
        json!({"variables": {"a": "[variables('b')]", "b": "[variables('a')]"}, "resources": []}),
        Value::Null,
    );
    assert!(e.message.contains("circular reference"), "{}", e.message);
}

#[test]
fn variable_copy_builds_arrays() {
    // copy-variables.md: "concat('item', copyIndex('stringArray', 1))" with count 5, and an
    // object input per element.
    let (p, _) = plan_ok(
        json!({"variables": {"copy": [
            {"name": "stringArray", "count": 5, "input": "[concat('item', copyIndex('stringArray', 1))]"},
            {"name": "objectArray", "count": 2, "input": {"name": "[concat('myDataDisk', copyIndex('objectArray', 1))]", "diskSizeGB": "1", "diskIndex": "[copyIndex('objectArray')]"}}
        ]}, "resources": []}),
        Value::Null,
    );
    let v = p.variables();
    assert_eq!(v["stringArray"], json!(["item1", "item2", "item3", "item4", "item5"]));
    assert_eq!(
        v["objectArray"],
        json!([{"name": "myDataDisk1", "diskSizeGB": "1", "diskIndex": 0}, {"name": "myDataDisk2", "diskSizeGB": "1", "diskIndex": 1}])
    );
}

#[test]
fn property_copy_inside_a_variable_object() {
    // copy-variables.md: a `copy` element inside a variable's object.
    let (p, _) = plan_ok(
        json!({"variables": {"disks": {"copy": [{"name": "disks", "count": 3, "input": {"lun": "[copyIndex('disks')]"}}]}}, "resources": []}),
        Value::Null,
    );
    assert_eq!(
        p.variables()["disks"],
        json!({"disks": [{"lun": 0}, {"lun": 1}, {"lun": 2}]})
    );
}

#[test]
fn copy_counts_are_limited_to_800() {
    let e = plan_err(
        json!({"variables": {"copy": [{"name": "x", "count": 801, "input": "a"}]}, "resources": []}),
        Value::Null,
    );
    assert!(e.message.contains("cannot exceed '800'"), "{}", e.message);
    let e = plan_err(
        json!({"variables": {"copy": [{"name": "x", "count": -1, "input": "a"}]}, "resources": []}),
        Value::Null,
    );
    assert!(e.message.contains("non-negative"), "{}", e.message);
}

#[test]
fn reference_is_not_allowed_in_variables() {
    let e = plan_err(
        json!({"variables": {"v": "[reference('x')]"}, "resources": []}),
        Value::Null,
    );
    assert!(
        e.message
            .contains("The template function 'reference' is not expected at this location."),
        "{}",
        e.message
    );
}

#[test]
fn user_defined_functions_see_only_their_parameters() {
    // user-defined-functions.md example: contoso.uniqueName(namePrefix)
    let (p, _) = plan_ok(
        json!({"functions": [{"namespace": "contoso", "members": {"uniqueName": {
            "parameters": [{"name": "namePrefix", "type": "string"}],
            "output": {"type": "string", "value": "[concat(toLower(parameters('namePrefix')), uniqueString(resourceGroup().id))]"}
        }}}], "variables": {"n": "[contoso.uniqueName('Store')]"}, "resources": []}),
        Value::Null,
    );
    let want = format!("store{}", hash::unique_string(&[&rg_id()]));
    assert_eq!(p.variables()["n"], json!(want));
    let e = plan_err(json!({"variables": {"n": "[nope.fn()]"}, "resources": []}), Value::Null);
    assert!(
        e.message.contains("The template function 'nope.fn' is not valid"),
        "{}",
        e.message
    );
}

// ---- resources, ids, copy and conditions ------------------------------------------------

fn identity(name: &str) -> Value {
    json!({"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31", "name": name, "location": "[resourceGroup().location]"})
}

#[test]
fn resource_ids_bodies_and_template_keys() {
    let (mut p, mut env) = plan_ok(
        json!({"resources": [{
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31", "name": "id1",
            "location": "[resourceGroup().location]", "tags": {"env": "[concat('d', 'ev')]"}, "comments": "not sent",
            "dependsOn": []
        }]}),
        Value::Null,
    );
    let r = p.evaluate_resource(0, &mut env).unwrap();
    assert_eq!(
        r.id,
        format!(
            "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1",
            rg_id()
        )
    );
    assert_eq!(r.api_version, "2023-01-31");
    assert_eq!(r.body, json!({"location": "westeurope", "tags": {"env": "dev"}}));
    assert!(r.nested.is_none());
}

#[test]
fn child_resources_get_full_type_and_name() {
    let (p, _) = plan_ok(
        json!({"resources": [{
            "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "vnet",
            "resources": [{"type": "subnets", "apiVersion": "2023-04-01", "name": "default", "dependsOn": ["vnet"]}]
        }, {"type": "Microsoft.Network/virtualNetworks/subnets", "apiVersion": "2023-04-01", "name": "vnet/second", "dependsOn": ["[resourceId('Microsoft.Network/virtualNetworks', 'vnet')]"]}]}),
        Value::Null,
    );
    assert_eq!(p.resources[1].full_type, "Microsoft.Network/virtualNetworks/subnets");
    assert_eq!(p.resources[1].name, "vnet/default");
    assert!(p.resources[1]
        .id
        .ends_with("/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default"));
    assert_eq!(p.resources[1].path, "resources[0].resources[0]");
    assert_eq!(names(&p, &p.waves[0]), ["vnet"]);
    assert_eq!(names(&p, &p.waves[1]), ["vnet/default", "vnet/second"]);
}

#[test]
fn incorrect_segment_lengths_are_refused() {
    // error-invalid-template.md, "Solution 2 - incorrect segment lengths".
    let e = plan_err(
        json!({"resources": [{"type": "Microsoft.Web/serverfarms", "apiVersion": "2022-09-01", "name": "appPlan/myHostingPlanName"}]}),
        Value::Null,
    );
    assert!(
        e.message
            .contains("The template resource 'appPlan/myHostingPlanName' for type 'Microsoft.Web/serverfarms' at line")
            && e.message.contains("has incorrect segment lengths"),
        "{}",
        e.message
    );
}

#[test]
fn resources_at_subscription_scope_and_extension_scope() {
    let mut env = FakeEnv::subscription_scope();
    let t = tpl(json!({"resources": [
        {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01", "name": "rg2", "location": "westeurope"},
        {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01", "name": "[guid('a')]",
         "scope": "[concat(subscription().id, '/resourceGroups/rg2')]", "properties": {}},
        {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner", "resourceGroup": "rg2",
         "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'rg2')]"],
         "properties": {"mode": "Incremental", "template": {"resources": []}}}
    ]}));
    let p = plan(&t, &Value::Null, &mut env).unwrap();
    assert_eq!(p.resources[0].id, format!("/subscriptions/{SUB}/resourceGroups/rg2"));
    assert_eq!(
        p.resources[1].id,
        format!("/subscriptions/{SUB}/resourceGroups/rg2/providers/Microsoft.Authorization/roleAssignments/3703365d-5a9f-59b4-bca7-b9681389e4c1")
    );
    assert_eq!(
        p.resources[2].id,
        format!("/subscriptions/{SUB}/resourceGroups/rg2/providers/Microsoft.Resources/deployments/inner")
    );
    assert_eq!(p.resources[2].depends_on, [0]);
}

#[test]
fn resource_group_function_is_refused_at_subscription_scope() {
    let mut env = FakeEnv::subscription_scope();
    let e = plan(
        &tpl(json!({"variables": {"x": "[resourceGroup().id]"}, "resources": []})),
        &Value::Null,
        &mut env,
    )
    .unwrap_err();
    assert!(
        e.message
            .contains("The template function 'RESOURCEGROUP' is not expected at this location."),
        "{}",
        e.message
    );
}

#[test]
fn resource_copy_expands_instances_with_copy_index() {
    // copy-resources.md: "name": "[concat(copyIndex(), 'storage', uniqueString(resourceGroup().id))]"
    let (p, _) = plan_ok(
        json!({"parameters": {"n": {"type": "int", "defaultValue": 3}}, "resources": [{
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
            "name": "[concat('id-', copyIndex(1))]", "location": "westeurope",
            "copy": {"name": "idLoop", "count": "[parameters('n')]"}
        }]}),
        Value::Null,
    );
    assert_eq!(p.resources.len(), 3);
    assert_eq!(names(&p, &p.waves[0]), ["id-1", "id-2", "id-3"]);
    assert_eq!(p.resources[2].copy.as_ref().unwrap().index, 2);
}

#[test]
fn copy_with_count_zero_deploys_nothing_and_dependents_still_plan() {
    let (p, _) = plan_ok(
        json!({"resources": [
            {"type": "A.B/c", "apiVersion": "1", "name": "[concat('x', copyIndex())]", "copy": {"name": "loop", "count": 0}},
            {"type": "A.B/d", "apiVersion": "1", "name": "after", "dependsOn": ["loop"]}
        ]}),
        Value::Null,
    );
    assert_eq!(p.resources.len(), 1);
    assert_eq!(p.waves, vec![vec![0]]);
}

#[test]
fn serial_copy_deploys_in_batches() {
    // copy-resources.md#serial-or-parallel: mode serial, batchSize 2.
    let (p, _) = plan_ok(
        json!({"resources": [{
            "type": "A.B/c", "apiVersion": "1", "name": "[concat('s', copyIndex())]",
            "copy": {"name": "storagecopy", "count": 5, "mode": "serial", "batchSize": 2}
        }]}),
        Value::Null,
    );
    let waves: Vec<Vec<String>> = p.waves.iter().map(|w| names(&p, w)).collect();
    assert_eq!(waves, vec![vec!["s0", "s1"], vec!["s2", "s3"], vec!["s4"]]);
    let (p, _) = plan_ok(
        json!({"resources": [{"type": "A.B/c", "apiVersion": "1", "name": "[concat('s', copyIndex())]", "copy": {"name": "c", "count": 3, "mode": "serial"}}]}),
        Value::Null,
    );
    assert_eq!(p.waves.len(), 3);
}

#[test]
fn condition_false_resources_are_skipped_and_dropped_from_dependencies() {
    // resource-dependency.md: "When a conditional resource isn't deployed, Azure Resource
    // Manager automatically removes it from the required dependencies."
    let (p, _) = plan_ok(
        json!({"parameters": {"make": {"type": "bool", "defaultValue": false}}, "resources": [
            {"type": "A.B/c", "apiVersion": "1", "name": "maybe", "condition": "[parameters('make')]"},
            {"type": "A.B/c", "apiVersion": "1", "name": "always", "dependsOn": ["maybe"]}
        ]}),
        Value::Null,
    );
    assert!(!p.resources[0].condition);
    assert!(p.resources[1].depends_on.is_empty());
    assert_eq!(p.order(), [1]);
    let e = plan_err(
        json!({"resources": [{"type": "A.B/c", "apiVersion": "1", "name": "x", "condition": "yes"}]}),
        Value::Null,
    );
    assert!(
        e.message.contains("'condition' property must be a boolean"),
        "{}",
        e.message
    );
}

// ---- dependencies -----------------------------------------------------------------------

#[test]
fn depends_on_by_name_id_type_name_and_copy_loop() {
    let (p, _) = plan_ok(
        json!({"resources": [
            identity("a"),
            {"type": "A.B/c", "apiVersion": "1", "name": "[concat('n', copyIndex())]", "copy": {"name": "nodes", "count": 2}, "dependsOn": ["a"]},
            {"type": "A.B/d", "apiVersion": "1", "name": "by-id", "dependsOn": ["[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'a')]"]},
            {"type": "A.B/d", "apiVersion": "1", "name": "by-loop", "dependsOn": ["nodes"]},
            {"type": "A.B/d", "apiVersion": "1", "name": "by-type-name", "dependsOn": ["Microsoft.ManagedIdentity/userAssignedIdentities/a", "A.B/d/by-loop"]}
        ]}),
        Value::Null,
    );
    let waves: Vec<Vec<String>> = p.waves.iter().map(|w| names(&p, w)).collect();
    assert_eq!(
        waves,
        vec![
            vec!["a"],
            vec!["n0", "n1", "by-id"],
            vec!["by-loop"],
            vec!["by-type-name"]
        ]
    );
    assert_eq!(p.resources[4].depends_on, [1, 2]);
}

#[test]
fn depends_on_an_undeclared_resource_is_refused() {
    let e = plan_err(
        json!({"resources": [{"type": "A.B/c", "apiVersion": "1", "name": "x", "dependsOn": ["ghost"]}]}),
        Value::Null,
    );
    assert!(
        e.message
            .contains("The resource 'ghost' is not defined in the template."),
        "{}",
        e.message
    );
    assert_eq!(e.path.as_deref(), Some("resources[0].dependsOn[0]"));
}

#[test]
fn circular_dependencies_are_invalid_template() {
    // Azure: "Deployment template validation failed: 'Circular dependency detected on
    // resource: '<id>'. Please see https://aka.ms/arm-syntax-resources for usage details.'."
    let e = plan_err(
        json!({"resources": [
            {"type": "A.B/c", "apiVersion": "1", "name": "x", "dependsOn": ["y"]},
            {"type": "A.B/c", "apiVersion": "1", "name": "y", "dependsOn": ["z"]},
            {"type": "A.B/c", "apiVersion": "1", "name": "z", "dependsOn": ["x"]},
            {"type": "A.B/c", "apiVersion": "1", "name": "free"}
        ]}),
        Value::Null,
    );
    assert_eq!(e.code, "InvalidTemplate");
    assert_eq!(e.status, 400);
    assert_eq!(
        e.message,
        format!("Deployment template validation failed: 'Circular dependency detected on resource: '{}/providers/A.B/c/x'. Please see https://aka.ms/arm-syntax-resources for usage details.'.", rg_id())
    );
    assert_eq!(e.path.as_deref(), Some("resources[0]"));
}

#[test]
fn reference_and_list_create_implicit_dependencies_and_lazy_bodies() {
    // resource-dependency.md: "Use the reference or list functions to define an implicit dependency."
    let (p, _) = plan_ok(
        json!({"resources": [
            identity("kubelet"),
            {"type": "A.B/c", "apiVersion": "1", "name": "user",
             "properties": {"principal": "[reference('kubelet').principalId]",
                            "keys": "[listKeys(resourceId('A.B/k', 'store'), '2023-01-01')]"}},
            {"type": "A.B/k", "apiVersion": "2023-01-01", "name": "store"},
            {"type": "A.B/c", "apiVersion": "1", "name": "external",
             "properties": {"x": "[reference('/subscriptions/other/resourceGroups/r/providers/A.B/c/elsewhere', '1').x]"}}
        ]}),
        Value::Null,
    );
    assert_eq!(p.resources[1].depends_on, [0, 2]);
    assert!(p.resources[1].lazy && p.resources[3].lazy && !p.resources[0].lazy);
    assert!(p.resources[3].depends_on.is_empty());
    assert_eq!(p.waves.len(), 2);
}

#[test]
fn lazy_bodies_are_evaluated_after_their_dependencies_exist() {
    let t = tpl(json!({"resources": [
        identity("kubelet"),
        {"type": "Microsoft.ContainerService/managedClusters", "apiVersion": "2024-02-01", "name": "aks", "location": "westeurope",
         "properties": {"identityProfile": {"kubeletidentity": {
             "resourceId": "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'kubelet')]",
             "clientId": "[reference('kubelet').clientId]",
             "objectId": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'kubelet'), '2023-01-31', 'Full').properties.principalId]"}}}}
    ]}));
    let mut env = FakeEnv::new();
    let mut p = plan(&t, &Value::Null, &mut env).unwrap();
    assert_eq!(p.waves, vec![vec![0], vec![1]]);
    // Before the identity exists, the cluster's body cannot be evaluated: the environment's
    // own error comes back unchanged.
    let e = p.evaluate_resource(1, &mut env).unwrap_err();
    assert_eq!(e.to_arm().code, "ResourceNotFound");
    let id = p.evaluate_resource(0, &mut env).unwrap().id;
    env.put(
        &id,
        json!({"id": id, "properties": {"clientId": "c-1", "principalId": "p-1"}}),
    );
    let aks = p.evaluate_resource(1, &mut env).unwrap();
    assert_eq!(
        aks.body["properties"]["identityProfile"]["kubeletidentity"]["clientId"],
        "c-1"
    );
    assert_eq!(
        aks.body["properties"]["identityProfile"]["kubeletidentity"]["objectId"],
        "p-1"
    );
    assert!(
        env.calls.iter().any(|c| c.ends_with("kubelet 2023-01-31 false")),
        "{:?}",
        env.calls
    );
    assert!(
        env.calls.iter().any(|c| c.ends_with("kubelet 2023-01-31 true")),
        "{:?}",
        env.calls
    );
}

#[test]
fn reference_to_an_undeclared_name_is_refused_at_validation() {
    // "The template reference 'x' is not valid: could not find template resource or resource
    // copy with this name."
    let e = plan_err(
        json!({"resources": [{"type": "A.B/c", "apiVersion": "1", "name": "x", "properties": {"p": "[reference('ghost').id]"}}]}),
        Value::Null,
    );
    assert!(e.message.starts_with("Deployment template validation failed: 'The template reference 'ghost' is not valid: could not find template resource or resource copy with this name."), "{}", e.message);
    assert_eq!(e.path.as_deref(), Some("resources[0].properties.p"));
    let e = plan_err(
        json!({"resources": [], "outputs": {"o": {"type": "string", "value": "[reference('ghost').id]"}}}),
        Value::Null,
    );
    assert_eq!(e.path.as_deref(), Some("outputs.o.value"));
    // An empty name inside a branch that if() never takes is not a reference (the docs'
    // conditionWithReference example), and ids are resolved only when deployed.
    plan_ok(
        json!({"parameters": {"la": {"type": "string", "defaultValue": ""}}, "resources": [{"type": "A.B/c", "apiVersion": "1", "name": "x",
        "properties": {"w": "[if(not(empty(parameters('la'))), reference(parameters('la'), '2015-11-01-preview').customerId, null())]"}}]}),
        Value::Null,
    );
}

#[test]
fn reference_to_a_missing_resource_by_id_fails_when_evaluated() {
    let t = tpl(
        json!({"resources": [{"type": "A.B/c", "apiVersion": "1", "name": "x", "properties": {"p": "[reference('/subscriptions/s/resourceGroups/r/providers/A.B/c/gone', '1').id]"}}]}),
    );
    let mut env = FakeEnv::new();
    let mut p = plan(&t, &Value::Null, &mut env).unwrap();
    let e = p.evaluate_resource(0, &mut env).unwrap_err();
    assert_eq!(e.to_arm().code, "ResourceNotFound");
    let t = tpl(
        json!({"resources": [{"type": "A.B/c", "apiVersion": "1", "name": "x", "properties": {"p": "[substring(string(reference('/subscriptions/s/resourceGroups/r/providers/A.B/c/y', '1')), 100)]"}}]}),
    );
    let mut p = plan(&t, &Value::Null, &mut env).unwrap();
    env.put(
        "/subscriptions/s/resourceGroups/r/providers/A.B/c/y",
        json!({"properties": {}}),
    );
    let e = p.evaluate_resource(0, &mut env).unwrap_err();
    assert!(
        e.message.starts_with(&format!(
            "Unable to process template language expressions for resource '{}/providers/A.B/c/x' at line '",
            rg_id()
        )),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("The index and length parameters must refer to a location within the string."),
        "{}",
        e.message
    );
    assert_eq!(e.path.as_deref(), Some("resources[0].properties.p"));
}

#[test]
fn list_functions_call_the_environment_with_their_action_name() {
    let t = tpl(json!({"resources": [], "outputs": {"creds": {"type": "object",
        "value": "[listClusterUserCredential(resourceId('Microsoft.ContainerService/managedClusters', 'aks'), '2024-02-01')]"}}}));
    let mut env = FakeEnv::new();
    let mut p = plan(&t, &Value::Null, &mut env).unwrap();
    let out = p.outputs(&mut env).unwrap();
    assert_eq!(out["creds"]["type"], "Object");
    assert_eq!(out["creds"]["value"]["function"], "listClusterUserCredential");
    assert!(
        env.calls[0].ends_with("/managedClusters/aks listClusterUserCredential 2024-02-01"),
        "{:?}",
        env.calls
    );
}

#[test]
fn list_is_refused_outside_properties_and_outputs() {
    let e = plan_err(
        json!({"resources": [{"type": "A.B/c", "apiVersion": "1", "name": "[listKeys('x', '1').k]"}]}),
        Value::Null,
    );
    assert!(
        e.message
            .contains("The template function 'listKeys' is not expected at this location."),
        "{}",
        e.message
    );
}

// ---- property copy ----------------------------------------------------------------------

#[test]
fn property_copy_builds_arrays_in_resource_bodies() {
    // copy-properties.md: dataDisks with copyIndex('dataDisks').
    let (mut p, mut env) = plan_ok(
        json!({"parameters": {"n": {"type": "int", "defaultValue": 3}}, "resources": [{
            "type": "Microsoft.Compute/virtualMachines", "apiVersion": "2022-11-01", "name": "vm",
            "properties": {"storageProfile": {"copy": [{"name": "dataDisks", "count": "[parameters('n')]",
                "input": {"diskSizeGB": 1023, "lun": "[copyIndex('dataDisks')]", "createOption": "Empty"}}]}}
        }]}),
        Value::Null,
    );
    let body = p.evaluate_resource(0, &mut env).unwrap().body;
    let disks = &body["properties"]["storageProfile"]["dataDisks"];
    assert_eq!(disks.as_array().unwrap().len(), 3);
    assert_eq!(disks[2], json!({"diskSizeGB": 1023, "lun": 2, "createOption": "Empty"}));
}

#[test]
fn property_copy_inside_a_resource_copy_sees_both_indexes() {
    let (mut p, mut env) = plan_ok(
        json!({"resources": [{
            "type": "A.B/c", "apiVersion": "1", "name": "[concat('r', copyIndex())]", "copy": {"name": "outer", "count": 2},
            "properties": {"copy": [{"name": "items", "count": 2, "input": "[concat(copyIndex('outer'), '-', copyIndex('items'))]"}]}
        }]}),
        Value::Null,
    );
    assert_eq!(
        p.evaluate_resource(1, &mut env).unwrap().body["properties"]["items"],
        json!(["1-0", "1-1"])
    );
}

// ---- nested deployments -----------------------------------------------------------------

fn nested_template(scope: &str) -> Value {
    json!({
        "parameters": {"prefix": {"type": "string", "defaultValue": "outer"}},
        "variables": {"v": "from-outer"},
        "resources": [
            identity("[concat(parameters('prefix'), '-first')]"),
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "nested",
             "dependsOn": ["[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', concat(parameters('prefix'), '-first'))]"],
             "properties": {
                "mode": "Incremental",
                "expressionEvaluationOptions": {"scope": scope},
                "parameters": {"prefix": {"value": "[concat(parameters('prefix'), '-given')]"}},
                "template": {
                    "parameters": {"prefix": {"type": "string"}},
                    "variables": {"v": "from-inner"},
                    "resources": [
                        {"type": "A.B/c", "apiVersion": "1", "name": "[concat(parameters('prefix'), '-', variables('v'), '-', copyIndex())]", "copy": {"name": "inner", "count": 2}},
                        {"type": "A.B/d", "apiVersion": "1", "name": "last", "dependsOn": ["inner"]}
                    ],
                    "outputs": {"v": {"type": "string", "value": "[variables('v')]"}}
                }
             }},
            {"type": "A.B/e", "apiVersion": "1", "name": "after", "properties": {"o": "[reference('nested').outputs.v.value]"}}
        ]
    })
}

#[test]
fn nested_deployment_with_inner_scope_binds_its_own_parameters() {
    let (mut p, mut env) = plan_ok(nested_template("inner"), Value::Null);
    let waves: Vec<Vec<String>> = p.waves.iter().map(|w| names(&p, w)).collect();
    assert_eq!(waves, vec![vec!["outer-first"], vec!["nested"], vec!["after"]]);
    let r = p.evaluate_resource(1, &mut env).unwrap();
    // The inner template is not evaluated by the outer one, and not part of the body.
    assert!(r.body["properties"].get("template").is_none());
    assert_eq!(
        r.body["properties"]["parameters"],
        json!({"prefix": {"value": "outer-given"}})
    );
    let n = r.nested.unwrap();
    assert_eq!(n.scope, NestedScope::Inner);
    assert_eq!(n.mode, "Incremental");
    let mut inner = plan_nested(&n, &mut env).unwrap();
    let waves: Vec<Vec<String>> = inner.waves.iter().map(|w| names(&inner, w)).collect();
    assert_eq!(
        waves,
        vec![
            vec!["outer-given-from-inner-0", "outer-given-from-inner-1"],
            vec!["last"]
        ]
    );
    assert_eq!(
        inner.outputs(&mut env).unwrap()["v"],
        json!({"type": "String", "value": "from-inner"})
    );
}

#[test]
fn nested_deployment_with_outer_scope_uses_the_parent_parameters_and_variables() {
    let (mut p, mut env) = plan_ok(nested_template("outer"), Value::Null);
    let n = p.evaluate_resource(1, &mut env).unwrap().nested.unwrap();
    assert_eq!(n.scope, NestedScope::Outer);
    let mut inner = plan_nested(&n, &mut env).unwrap();
    assert_eq!(
        names(&inner, &inner.waves[0]),
        ["outer-from-outer-0", "outer-from-outer-1"]
    );
    assert_eq!(inner.outputs(&mut env).unwrap()["v"]["value"], "from-outer");
    // Outer is the default (ExpressionEvaluationOptions: "If not specified, default value is outer").
    let mut t = nested_template("outer");
    t["resources"][1]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("expressionEvaluationOptions");
    let (mut p, mut env) = plan_ok(t, Value::Null);
    assert_eq!(
        p.evaluate_resource(1, &mut env).unwrap().nested.unwrap().scope,
        NestedScope::Outer
    );
}

#[test]
fn nested_deployment_into_another_resource_group_keeps_its_target() {
    let (mut p, mut env) = plan_ok(
        json!({"resources": [{"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "x",
            "resourceGroup": "other", "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
            "template": {"resources": []}}}]}),
        Value::Null,
    );
    let n = p.evaluate_resource(0, &mut env).unwrap().nested.unwrap();
    assert_eq!(n.resource_group.as_deref(), Some("other"));
    assert_eq!(n.subscription_id.as_deref(), Some(SUB));
    assert!(n
        .id
        .contains("/resourceGroups/other/providers/Microsoft.Resources/deployments/x"));
}

#[test]
fn nested_template_errors_carry_the_nested_path() {
    let text = "{\"resources\": [{\"type\": \"Microsoft.Resources/deployments\", \"apiVersion\": \"2022-09-01\", \"name\": \"n\",\n \"properties\": {\"mode\": \"Incremental\", \"expressionEvaluationOptions\": {\"scope\": \"inner\"},\n \"template\": {\"resources\": [{\"type\": \"A.B/c\", \"apiVersion\": \"1\",\n \"name\": \"[bad(]\"}]}}}]}";
    let t = Template::parse(text).unwrap();
    let mut env = FakeEnv::new();
    let mut p = plan(&t, &Value::Null, &mut env).unwrap();
    let n = p.evaluate_resource(0, &mut env).unwrap().nested.unwrap();
    let e = plan_nested(&n, &mut env).unwrap_err();
    assert_eq!(
        e.path.as_deref(),
        Some("resources[0].properties.template.resources[0].name")
    );
    assert_eq!(e.pos, Some(json::Pos { line: 4, column: 17 }));
    assert!(
        e.message.contains("Unable to parse language expression"),
        "{}",
        e.message
    );
}

// ---- outputs ----------------------------------------------------------------------------

#[test]
fn outputs_are_evaluated_after_resources_with_types_conditions_and_copy() {
    let t = tpl(json!({
        "parameters": {"pw": {"type": "securestring", "defaultValue": "s3cret"}},
        "resources": [identity("id1")],
        "outputs": {
            "principal": {"type": "string", "value": "[reference('id1').principalId]"},
            "full": {"type": "object", "value": "[reference('id1', '2023-01-31', 'Full')]"},
            "skipped": {"type": "string", "condition": "[equals(1, 2)]", "value": "x"},
            "names": {"type": "array", "copy": {"count": 3, "input": "[concat('n', copyIndex())]"}},
            "secret": {"type": "securestring", "value": "[parameters('pw')]"},
            "n": {"type": "int", "value": 5},
            "b": {"type": "bool", "value": "[true()]"}
        }
    }));
    let mut env = FakeEnv::new();
    let mut p = plan(&t, &Value::Null, &mut env).unwrap();
    let id = p.evaluate_resource(0, &mut env).unwrap().id;
    env.put(
        &id,
        json!({"id": id, "location": "westeurope", "properties": {"principalId": "p-1"}}),
    );
    let out = p.outputs(&mut env).unwrap();
    assert_eq!(out["principal"], json!({"type": "String", "value": "p-1"}));
    assert_eq!(out["full"]["value"]["location"], "westeurope");
    assert!(out.get("skipped").is_none());
    assert_eq!(out["names"], json!({"type": "Array", "value": ["n0", "n1", "n2"]}));
    assert_eq!(out["secret"], json!({"type": "SecureString"}));
    assert_eq!(out["n"], json!({"type": "Int", "value": 5}));
    assert_eq!(out["b"], json!({"type": "Bool", "value": true}));
}

// ---- error positions ----------------------------------------------------------------------

#[test]
fn expression_errors_report_line_column_path_and_position() {
    let text = "{\n  \"resources\": [\n    {\n      \"type\": \"A.B/c\",\n      \"apiVersion\": \"1\",\n      \"name\": \"[concat('a', nosuch('b'))]\"\n    }\n  ]\n}";
    let t = Template::parse(text).unwrap();
    let e = plan(&t, &Value::Null, &mut FakeEnv::new()).unwrap_err();
    assert_eq!(e.path.as_deref(), Some("resources[0].name"));
    assert_eq!(e.pos, Some(json::Pos { line: 6, column: 42 }));
    assert_eq!(e.expression_position, Some(13));
    assert_eq!(
        e.message,
        "Deployment template validation failed: 'The template resource '[concat('a', nosuch('b'))]' at line '6' and column '42' is not valid: The template function 'nosuch' is not valid. Please see https://aka.ms/arm-functions for usage details.'."
    );
}

#[test]
fn parse_errors_in_expressions_report_the_character_position() {
    let e = plan_err(
        json!({"variables": {"v": "[concat('a', 'b']"}, "resources": []}),
        Value::Null,
    );
    assert!(
        e.message
            .contains("expected token 'RightParenthesis' and actual 'EndOfData'"),
        "{}",
        e.message
    );
    assert_eq!(e.expression_position, Some(16));
    assert_eq!(e.path.as_deref(), Some("variables.v"));
}

#[test]
fn an_escaped_bracket_is_a_literal_everywhere() {
    let (p, _) = plan_ok(
        json!({"variables": {"v": "[[not an expression]", "w": ["[[x]"]}, "resources": []}),
        Value::Null,
    );
    assert_eq!(p.variables()["v"], "[not an expression]");
    assert_eq!(p.variables()["w"], json!(["[x]"]));
}

// ---- scale --------------------------------------------------------------------------------

#[test]
fn two_hundred_resources_plan_and_evaluate_quickly() {
    // 200 resources: a copy loop of 100 identities and 100 resources that each read one
    // identity through reference() (lazy bodies, implicit dependencies).
    let t = tpl(json!({
        "parameters": {"n": {"type": "int", "defaultValue": 100}},
        "variables": {"prefix": "[concat('id-', uniqueString(resourceGroup().id))]"},
        "resources": [
            {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
             "name": "[concat(variables('prefix'), '-', copyIndex())]", "location": "[resourceGroup().location]",
             "copy": {"name": "ids", "count": "[parameters('n')]"}},
            {"type": "A.B/c", "apiVersion": "1", "name": "[concat('user-', copyIndex())]", "location": "[resourceGroup().location]",
             "copy": {"name": "users", "count": "[parameters('n')]"},
             "properties": {"principal": "[reference(concat(variables('prefix'), '-', copyIndex())).principalId]",
                            "tags": {"index": "[string(copyIndex())]", "guid": "[guid(resourceGroup().id, string(copyIndex()))]"}}}
        ]
    }));
    let start = std::time::Instant::now();
    let mut env = FakeEnv::new();
    let mut p = plan(&t, &Value::Null, &mut env).unwrap();
    let order = deploy(
        &mut p,
        &mut env,
        |r| json!({"id": r.id, "properties": {"principalId": format!("p-{}", r.name)}}),
    );
    let elapsed = start.elapsed();
    assert_eq!(p.resources.len(), 200);
    assert_eq!(order.iter().map(Vec::len).collect::<Vec<_>>(), [100, 100]);
    assert!(p.resources[150].depends_on == [50], "{:?}", p.resources[150].depends_on);
    eprintln!("200 resources planned and evaluated in {elapsed:?}");
    assert!(elapsed < std::time::Duration::from_secs(2), "{elapsed:?}");
}

// ---- what-if preview, limits, languageVersion 2.0, deployment() ---------------------------

#[test]
fn preview_keeps_unanswerable_references_as_expression_text() {
    let t = tpl(json!({"resources": [
        identity("kubelet"),
        {"type": "A.B/c", "apiVersion": "1", "name": "user", "location": "[resourceGroup().location]",
         "properties": {"principal": "[reference('kubelet').principalId]", "plain": "[concat('a', 'b')]"}}
    ]}));
    let mut env = FakeEnv::new();
    let mut p = plan(&t, &Value::Null, &mut env).unwrap();
    let r = p.preview_resource(1, &mut env).unwrap();
    assert_eq!(r.body["properties"]["principal"], "[reference('kubelet').principalId]");
    assert_eq!(r.body["properties"]["plain"], "ab");
    assert_eq!(r.body["location"], "westeurope");
    // Other failures are still errors in a preview.
    let t = tpl(json!({"resources": [{"type": "A.B/c", "apiVersion": "1", "name": "x",
        "properties": {"a": "[reference('x2').p]", "b": "[substring('abc', 5)]"}},
        {"type": "A.B/c", "apiVersion": "1", "name": "x2"}]}));
    let mut p = plan(&t, &Value::Null, &mut env).unwrap();
    assert!(p
        .preview_resource(0, &mut env)
        .unwrap_err()
        .message
        .contains("The index and length parameters"));
}

#[test]
fn more_than_800_resources_are_refused() {
    let t = tpl(json!({"resources": [
        {"type": "A.B/c", "apiVersion": "1", "name": "[concat('a', copyIndex())]", "copy": {"name": "a", "count": 800}},
        {"type": "A.B/c", "apiVersion": "1", "name": "one-more"}
    ]}));
    let e = plan(&t, &Value::Null, &mut FakeEnv::new()).unwrap_err();
    assert!(e.message.contains("Limit: '800' and actual: '801'"), "{}", e.message);
}

#[test]
fn symbolic_names_and_existing_resources() {
    // languageVersion 2.0: resources keyed by symbolic name; `existing` resources are only read.
    let t = tpl(json!({"languageVersion": "2.0", "resources": {
        "ident": {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31", "name": "pre", "existing": true},
        "user": {"type": "A.B/c", "apiVersion": "1", "name": "user", "dependsOn": ["ident"], "properties": {"p": "[reference('ident').principalId]"}}
    }}));
    let mut env = FakeEnv::new();
    let mut p = plan(&t, &Value::Null, &mut env).unwrap();
    assert_eq!(p.resources[0].symbolic.as_deref(), Some("ident"));
    assert_eq!(p.resources[0].path, "resources.ident");
    assert!(p.resources[0].existing && !p.resources[0].is_deployed());
    assert_eq!(p.waves, vec![vec![1]]);
    let id = p.resources[0].id.clone();
    env.put(&id, json!({"properties": {"principalId": "pp"}}));
    assert_eq!(p.evaluate_resource(1, &mut env).unwrap().body["properties"]["p"], "pp");
}

#[test]
fn deployment_object_has_the_documented_shape() {
    let v = deployment_object(
        "dep",
        &json!({"contentVersion": "1.0.0.0"}),
        "123",
        &json!({}),
        "Incremental",
        None,
    );
    assert_eq!(
        v,
        json!({"name": "dep", "properties": {"template": {"contentVersion": "1.0.0.0"}, "templateHash": "123", "parameters": {}, "mode": "Incremental", "provisioningState": "Accepted"}})
    );
    assert_eq!(
        deployment_object("d", &json!({}), "", &json!({}), "Incremental", Some("westus"))["location"],
        "westus"
    );
}

#[test]
fn documented_json_example_end_to_end() {
    // template-functions-object#json: parameters with string defaults (one of them an escaped
    // bracket) turned into typed outputs.
    let t = tpl(json!({
        "parameters": {
            "jsonEmptyObject": {"type": "string", "defaultValue": "null"},
            "jsonObject": {"type": "string", "defaultValue": "{\"a\": \"b\"}"},
            "jsonString": {"type": "string", "defaultValue": "\"test\""},
            "jsonBoolean": {"type": "string", "defaultValue": "true"},
            "jsonInt": {"type": "string", "defaultValue": "3"},
            "jsonArray": {"type": "string", "defaultValue": "[[1,2,3 ]"},
            "concatValue": {"type": "string", "defaultValue": "demo value"}
        },
        "resources": [],
        "outputs": {
            "emptyObjectOutput": {"type": "bool", "value": "[empty(json(parameters('jsonEmptyObject')))]"},
            "objectOutput": {"type": "object", "value": "[json(parameters('jsonObject'))]"},
            "stringOutput": {"type": "string", "value": "[json(parameters('jsonString'))]"},
            "booleanOutput": {"type": "bool", "value": "[json(parameters('jsonBoolean'))]"},
            "intOutput": {"type": "int", "value": "[json(parameters('jsonInt'))]"},
            "arrayOutput": {"type": "array", "value": "[json(parameters('jsonArray'))]"},
            "concatObjectOutput": {"type": "object", "value": "[json(concat('{\"a\": \"', parameters('concatValue'), '\"}'))]"}
        }
    }));
    let mut env = FakeEnv::new();
    let mut p = plan(&t, &Value::Null, &mut env).unwrap();
    let out = p.outputs(&mut env).unwrap();
    let values: Vec<(&str, &Value)> = out
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), &v["value"]))
        .collect();
    assert_eq!(
        values,
        vec![
            ("emptyObjectOutput", &json!(true)),
            ("objectOutput", &json!({"a": "b"})),
            ("stringOutput", &json!("test")),
            ("booleanOutput", &json!(true)),
            ("intOutput", &json!(3)),
            ("arrayOutput", &json!([1, 2, 3])),
            ("concatObjectOutput", &json!({"a": "demo value"})),
        ]
    );
}

#[test]
fn request_bodies_as_az_sends_them_parse_with_template_positions() {
    // azure-cli JsonCTemplatePolicy: `, template:<raw file text>}}` appended to the body.
    let body = "{\"properties\": {\"mode\": \"Incremental\", \"parameters\": {}, template:{\n  // the file's comment\n  \"parameters\": {\"p\": {\"type\": \"string\"}},\n  \"resources\": [],\n}}}";
    let (v, t) = parse_request_body(body).unwrap();
    assert_eq!(v["properties"]["mode"], "Incremental");
    let t = t.unwrap();
    let e = plan(&t, &v["properties"]["parameters"], &mut FakeEnv::new()).unwrap_err();
    assert_eq!(e.path.as_deref(), Some("properties.template.parameters.p"));
    assert_eq!(e.pos, Some(json::Pos { line: 3, column: 23 }));
    let e = parse_request_body("{\"properties\": ").unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (400, "InvalidRequestContent"));
    assert!(parse_request_body("{\"properties\": {}}").unwrap().1.is_none());
    assert_eq!(
        parse_request_body("{\"properties\": {\"template\": 1}}")
            .unwrap_err()
            .code,
        "InvalidTemplate"
    );
}

#[test]
fn template_hash_is_a_decimal_murmur64() {
    let h = template_hash(&json!({"resources": []}));
    assert!(h.parse::<u64>().is_ok());
    assert_ne!(h, template_hash(&json!({"resources": [1]})));
}

#[test]
fn a_plain_property_named_copy_is_not_a_loop() {
    let (mut p, mut env) = plan_ok(
        json!({"resources": [{"type": "A.B/c", "apiVersion": "1", "name": "x", "properties": {"copy": ["a", "[toUpper('b')]"]}}]}),
        Value::Null,
    );
    assert_eq!(
        p.evaluate_resource(0, &mut env).unwrap().body["properties"]["copy"],
        json!(["a", "B"])
    );
}

// ---- the seed's setup as one template ------------------------------------------------------

/// The seed walkthrough as a template: two identities, a registry, a virtual network, the
/// Managed Identity Operator assignment on the kubelet identity, the AcrPull assignment and
/// the cluster with its pre-created kubelet identity.
fn seed_template() -> Value {
    let uai = "Microsoft.ManagedIdentity/userAssignedIdentities";
    json!({
        "$schema": schema(),
        "contentVersion": "1.0.0.0",
        "parameters": {
            "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
            "clusterName": {"type": "string", "defaultValue": "myAKSCluster"},
            "acrName": {"type": "string", "defaultValue": "[concat('acr', uniqueString(resourceGroup().id))]"}
        },
        "variables": {
            "cpId": format!("[resourceId('{uai}', 'myIdentity')]"),
            "kubeletId": format!("[resourceId('{uai}', 'myKubeletIdentity')]"),
            "mioRole": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'f1a07417-d97a-45cb-824c-7a7467783830')]",
            "acrPullRole": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d')]"
        },
        "resources": [
            {"type": uai, "apiVersion": "2023-01-31", "name": "myIdentity", "location": "[parameters('location')]"},
            {"type": uai, "apiVersion": "2023-01-31", "name": "myKubeletIdentity", "location": "[parameters('location')]"},
            {"type": "Microsoft.ContainerRegistry/registries", "apiVersion": "2023-07-01", "name": "[parameters('acrName')]",
             "location": "[parameters('location')]", "sku": {"name": "Basic"}},
            {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "myVnet", "location": "[parameters('location')]",
             "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/8"]},
                            "subnets": [{"name": "aks", "properties": {"addressPrefix": "10.240.0.0/16"}}]}},
            {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01",
             "name": "[guid(variables('kubeletId'), variables('cpId'), variables('mioRole'))]",
             "scope": "[variables('kubeletId')]",
             "properties": {"roleDefinitionId": "[variables('mioRole')]",
                            "principalId": "[reference(variables('cpId')).principalId]", "principalType": "ServicePrincipal"}},
            {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01",
             "name": "[guid(resourceId('Microsoft.ContainerRegistry/registries', parameters('acrName')), variables('kubeletId'), variables('acrPullRole'))]",
             "scope": "[resourceId('Microsoft.ContainerRegistry/registries', parameters('acrName'))]",
             "dependsOn": ["[resourceId('Microsoft.ContainerRegistry/registries', parameters('acrName'))]"],
             "properties": {"roleDefinitionId": "[variables('acrPullRole')]",
                            "principalId": "[reference(variables('kubeletId')).principalId]", "principalType": "ServicePrincipal"}},
            {"type": "Microsoft.ContainerService/managedClusters", "apiVersion": "2024-02-01", "name": "[parameters('clusterName')]",
             "location": "[parameters('location')]",
             "dependsOn": ["[extensionResourceId(variables('kubeletId'), 'Microsoft.Authorization/roleAssignments', guid(variables('kubeletId'), variables('cpId'), variables('mioRole')))]",
                           "myVnet"],
             "identity": {"type": "UserAssigned", "userAssignedIdentities": {"[variables('cpId')]": {}}},
             "properties": {
                "dnsPrefix": "[parameters('clusterName')]",
                "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "vmSize": "Standard_DS2_v2", "mode": "System",
                                       "vnetSubnetID": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'myVnet', 'aks')]"}],
                "identityProfile": {"kubeletidentity": {
                    "resourceId": "[variables('kubeletId')]",
                    "clientId": "[reference(variables('kubeletId')).clientId]",
                    "objectId": "[reference(variables('kubeletId')).principalId]"}}
             }}
        ],
        "outputs": {
            "kubeletClientId": {"type": "string", "value": "[reference(resourceId('Microsoft.ContainerService/managedClusters', parameters('clusterName')), '2024-02-01').identityProfile.kubeletidentity.clientId]"}
        }
    })
}

/// Deploys a plan wave by wave into the fake environment, the way the deployment engine's
/// caller does: evaluate each resource when its turn comes, then record it as live.
fn deploy(p: &mut Plan, env: &mut FakeEnv, mut after: impl FnMut(&EvaluatedResource) -> Value) -> Vec<Vec<String>> {
    let mut order = Vec::new();
    for wave in p.waves.clone() {
        let mut names = Vec::new();
        for i in wave {
            let r = p
                .evaluate_resource(i, env)
                .unwrap_or_else(|e| panic!("{}: {}", p.resources[i].name, e.message));
            let live = after(&r);
            env.put(&r.id, live);
            names.push(r.name.clone());
        }
        order.push(names);
    }
    order
}

#[test]
fn seed_setup_template_plans_and_deploys_in_dependency_order() {
    let mut env = FakeEnv::new();
    let mut p = plan(&tpl(seed_template()), &Value::Null, &mut env).unwrap();
    let acr = format!("acr{}", hash::unique_string(&[&rg_id()]));
    let mut bodies = HashMap::new();
    let order = deploy(&mut p, &mut env, |r| {
        bodies.insert(r.name.clone(), r.body.clone());
        let mut live = r.body.clone();
        live["id"] = json!(r.id);
        if r.full_type.ends_with("userAssignedIdentities") {
            live["properties"] =
                json!({"clientId": format!("client-{}", r.name), "principalId": format!("principal-{}", r.name)});
        }
        live
    });
    let mio = hash::guid(&[
        &format!("{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myKubeletIdentity", rg_id()),
        &format!("{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myIdentity", rg_id()),
        &format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/f1a07417-d97a-45cb-824c-7a7467783830"),
    ]);
    assert_eq!(order[0], ["myIdentity", "myKubeletIdentity", acr.as_str(), "myVnet"]);
    assert_eq!(order[1].len(), 2, "{order:?}");
    assert!(order[1].contains(&mio));
    assert_eq!(order[2], ["myAKSCluster"]);
    // The assignments were evaluated after the identities existed.
    assert_eq!(bodies[&mio]["properties"]["principalId"], "principal-myIdentity");
    let aks = &bodies["myAKSCluster"];
    assert_eq!(
        aks["properties"]["identityProfile"]["kubeletidentity"]["clientId"],
        "client-myKubeletIdentity"
    );
    assert_eq!(
        aks["properties"]["identityProfile"]["kubeletidentity"]["objectId"],
        "principal-myKubeletIdentity"
    );
    let cp = format!(
        "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myIdentity",
        rg_id()
    );
    assert_eq!(aks["identity"]["userAssignedIdentities"], json!({cp: {}}));
    assert_eq!(
        aks["properties"]["agentPoolProfiles"][0]["vnetSubnetID"],
        json!(format!(
            "{}/providers/Microsoft.Network/virtualNetworks/myVnet/subnets/aks",
            rg_id()
        ))
    );
    let i = p.resources.iter().position(|r| r.name == mio).unwrap();
    assert!(p.resources[i].id.starts_with(&format!("{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myKubeletIdentity/providers/Microsoft.Authorization/roleAssignments/", rg_id())));
    let out = p.outputs(&mut env).unwrap();
    assert_eq!(out["kubeletClientId"]["value"], "client-myKubeletIdentity");
}

#[test]
fn seed_template_without_the_operator_assignment_still_plans() {
    // The AKS rule (kubelet identity needs Managed Identity Operator) is the provider's to
    // enforce at deploy time; the engine only orders the resources.
    let mut t = seed_template();
    t["resources"].as_array_mut().unwrap().remove(4);
    t["resources"][5]["dependsOn"] = json!(["myVnet"]);
    let (p, _) = plan_ok(t, Value::Null);
    let waves: Vec<Vec<String>> = p.waves.iter().map(|w| names(&p, w)).collect();
    assert_eq!(waves.len(), 2);
    assert!(waves[1].contains(&"myAKSCluster".to_string()), "{waves:?}");
}

#[test]
fn dependencies_and_providers_as_the_deployment_reports_them() {
    let (p, _) = plan_ok(
        json!({"resources": [
            identity("a"),
            identity("b"),
            {"type": "A.B/c", "apiVersion": "1", "name": "x", "location": "eastus", "dependsOn": ["a", "b"]}
        ]}),
        Value::Null,
    );
    let id = |t: &str, n: &str| format!("{}/providers/{t}/{n}", rg_id());
    let uai = "Microsoft.ManagedIdentity/userAssignedIdentities";
    assert_eq!(
        p.dependencies(),
        json!([{"id": id("A.B/c", "x"), "resourceType": "A.B/c", "resourceName": "x", "dependsOn": [
            {"id": id(uai, "a"), "resourceType": uai, "resourceName": "a"},
            {"id": id(uai, "b"), "resourceType": uai, "resourceName": "b"}
        ]}])
    );
    assert_eq!(
        p.providers(),
        json!([
            {"namespace": "Microsoft.ManagedIdentity", "resourceTypes": [{"resourceType": "userAssignedIdentities", "locations": ["westeurope"]}]},
            {"namespace": "A.B", "resourceTypes": [{"resourceType": "c", "locations": ["eastus"]}]}
        ])
    );
}

#[test]
fn output_values_must_match_their_type() {
    let t = tpl(json!({"resources": [], "outputs": {"n": {"type": "int", "value": "five"}}}));
    let mut env = FakeEnv::new();
    let mut p = plan(&t, &Value::Null, &mut env).unwrap();
    let e = p.outputs(&mut env).unwrap_err();
    assert!(
        e.message
            .contains("Template output JToken type is not valid. Expected 'Integer'. Actual 'String'."),
        "{}",
        e.message
    );
    assert_eq!(e.path.as_deref(), Some("outputs.n"));
}

#[test]
fn resources_need_type_name_and_api_version_and_keep_metadata_out_of_the_body() {
    let e = plan_err(json!({"resources": [{"type": "A.B/c", "name": "x"}]}), Value::Null);
    assert!(
        e.message.contains("the 'apiVersion' property is missing"),
        "{}",
        e.message
    );
    let e = plan_err(
        json!({"resources": [{"type": "A.B/c", "apiVersion": "1"}]}),
        Value::Null,
    );
    assert!(e.message.contains("the 'name' property is missing"), "{}", e.message);
    let (mut p, mut env) = plan_ok(
        json!({"resources": [{"type": "A.B/c", "apiVersion": "1", "name": "x", "metadata": {"description": "for readers"}, "properties": {}}]}),
        Value::Null,
    );
    assert_eq!(
        p.evaluate_resource(0, &mut env).unwrap().body,
        json!({"properties": {}})
    );
}

#[test]
fn nested_deployments_must_be_incremental() {
    let e = plan_err(
        json!({"resources": [{"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "n",
            "properties": {"mode": "Complete", "template": {"resources": []}}}]}),
        Value::Null,
    );
    assert!(
        e.message.contains("nested deployments must use 'Incremental'"),
        "{}",
        e.message
    );
    assert_eq!(e.path.as_deref(), Some("resources[0].properties.mode"));
}

#[test]
fn parameters_typed_by_definitions_and_nullable() {
    // Bicep user-defined types compile to `definitions` and `$ref`.
    let t = json!({
        "definitions": {"skuName": {"type": "string", "allowedValues": ["Basic", "Standard"]}},
        "parameters": {
            "sku": {"$ref": "#/definitions/skuName"},
            "tag": {"type": "string", "nullable": true}
        },
        "resources": []
    });
    let (p, _) = plan_ok(t.clone(), json!({"sku": {"value": "Basic"}}));
    assert_eq!(p.parameters[0].value, "Basic");
    assert_eq!(p.parameters[1].value, Value::Null);
    let e = plan_err(t, json!({"sku": {"value": "Premium"}}));
    assert!(
        e.message.contains("not part of the allowed value(s): 'Basic,Standard'"),
        "{}",
        e.message
    );
}

#[test]
fn schema_names_the_target_scope() {
    let s = |schema: &str| tpl(json!({"$schema": schema, "resources": []})).target_scope();
    assert_eq!(s(schema()), "resourceGroup");
    assert_eq!(
        s("https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"),
        "subscription"
    );
    assert_eq!(
        s("https://schema.management.azure.com/schemas/2019-08-01/managementGroupDeploymentTemplate.json#"),
        "managementGroup"
    );
    assert_eq!(
        s("https://schema.management.azure.com/schemas/2019-08-01/tenantDeploymentTemplate.json#"),
        "tenant"
    );
}

#[test]
fn references_inside_property_copies_are_dependencies_too() {
    let (p, _) = plan_ok(
        json!({"resources": [
            {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31", "name": "[concat('id', copyIndex())]",
             "copy": {"name": "ids", "count": 3}},
            {"type": "A.B/c", "apiVersion": "1", "name": "user", "properties": {"copy": [{"name": "principals", "count": 2,
                "input": "[reference(concat('id', copyIndex('principals'))).principalId]"}]}}
        ]}),
        Value::Null,
    );
    assert_eq!(p.resources[3].depends_on, [0, 1]);
    assert!(p.resources[3].lazy);
}

#[test]
fn relative_scopes_and_multi_line_expressions() {
    // The rbac-builtinrole-multiplevms quickstart: a relative extension scope, and an
    // expression spread over lines inside a JSON string.
    let text = "{\"variables\": {\"role\": {\"Reader\": \"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]\"},\n\"n\": \"[guid(resourceId('Microsoft.Compute/virtualMachines', 'vm1'), \n        variables('role')['Reader'],\n        'p')]\"},\n\"resources\": [{\"scope\": \"[concat('Microsoft.Compute/virtualMachines/', 'vm1')]\", \"type\": \"Microsoft.Authorization/roleAssignments\", \"apiVersion\": \"2022-04-01\", \"name\": \"[variables('n')]\", \"properties\": {\"roleDefinitionId\": \"[variables('role')['Reader']]\"}}]}";
    let t = Template::parse(text).unwrap();
    let p = plan(&t, &Value::Null, &mut FakeEnv::new()).unwrap();
    let name = hash::guid(&[
        &format!("{}/providers/Microsoft.Compute/virtualMachines/vm1", rg_id()),
        &format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"),
        "p",
    ]);
    assert_eq!(
        p.resources[0].id,
        format!("{}/providers/Microsoft.Compute/virtualMachines/vm1/providers/Microsoft.Authorization/roleAssignments/{name}", rg_id())
    );
}

#[test]
fn depends_on_an_id_of_another_scope_matches_by_type_and_name() {
    let (p, _) = plan_ok(
        json!({"resources": [
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "mod", "resourceGroup": "rg2",
             "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"}, "template": {"resources": []}}},
            {"type": "A.B/c", "apiVersion": "1", "name": "after", "dependsOn": ["[resourceId('Microsoft.Resources/deployments', 'mod')]"]}
        ]}),
        Value::Null,
    );
    assert_eq!(p.resources[1].depends_on, [0]);
}

#[test]
fn subscription_deployment_creates_a_group_and_deploys_into_it() {
    // The shape of `az deployment sub create` with the create-rg-lock-role-assignment
    // quickstart: a resource group, then a nested deployment (outer scope) into it.
    let t = tpl(json!({
        "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        "parameters": {
            "rgName": {"type": "string"},
            "principalId": {"type": "string"},
            "assignment": {"type": "string", "defaultValue": "[guid(parameters('principalId'), parameters('rgName'))]"}
        },
        "resources": [
            {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01", "name": "[parameters('rgName')]", "location": "westeurope", "properties": {}},
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "applyLock", "resourceGroup": "[parameters('rgName')]",
             "dependsOn": ["[parameters('rgName')]"],
             "properties": {"mode": "Incremental", "template": {"resources": [
                {"type": "Microsoft.Authorization/locks", "apiVersion": "2017-04-01", "name": "DontDelete", "properties": {"level": "CanNotDelete"}},
                {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01", "name": "[guid(parameters('assignment'))]",
                 "properties": {"principalId": "[parameters('principalId')]",
                                "roleDefinitionId": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b24988ac-6180-42a0-ab88-20f7382dd24c')]"}}
             ]}}}
        ]
    }));
    assert_eq!(t.target_scope(), "subscription");
    let mut env = FakeEnv::subscription_scope();
    let mut p = plan(
        &t,
        &json!({"rgName": {"value": "demo"}, "principalId": {"value": "p1"}}),
        &mut env,
    )
    .unwrap();
    assert_eq!(names(&p, &p.waves[0]), ["demo"]);
    assert_eq!(names(&p, &p.waves[1]), ["applyLock"]);
    assert_eq!(p.resources[0].id, format!("/subscriptions/{SUB}/resourceGroups/demo"));
    let n = p.evaluate_resource(1, &mut env).unwrap().nested.unwrap();
    assert_eq!(
        (n.subscription_id.as_deref(), n.resource_group.as_deref()),
        (Some(SUB), Some("demo"))
    );
    assert_eq!(
        n.id,
        format!("/subscriptions/{SUB}/resourceGroups/demo/providers/Microsoft.Resources/deployments/applyLock")
    );
    // The caller runs the nested deployment with an environment scoped to its group.
    let mut rg_env = FakeEnv::new();
    rg_env.scope.resource_group = Some("demo".into());
    let inner = plan_nested(&n, &mut rg_env).unwrap();
    assert_eq!(
        inner.resources[0].id,
        format!("/subscriptions/{SUB}/resourceGroups/demo/providers/Microsoft.Authorization/locks/DontDelete")
    );
    let assignment = hash::guid(&[&hash::guid(&["p1", "demo"])]);
    assert!(inner.resources[1].id.ends_with(&format!(
        "/resourceGroups/demo/providers/Microsoft.Authorization/roleAssignments/{assignment}"
    )));
    assert_eq!(inner.waves, vec![vec![0, 1]]);
}

#[test]
fn an_outer_scope_nested_template_can_reference_its_parents_resources() {
    let (mut p, mut env) = plan_ok(
        json!({"resources": [
            identity("parentId"),
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "n", "dependsOn": ["parentId"],
             "properties": {"mode": "Incremental", "template": {"resources": [
                {"type": "A.B/c", "apiVersion": "1", "name": "child", "properties": {"p": "[reference('parentId').principalId]"}}
             ]}}}
        ]}),
        Value::Null,
    );
    let id = p.evaluate_resource(0, &mut env).unwrap().id;
    env.put(&id, json!({"properties": {"principalId": "pp"}}));
    let n = p.evaluate_resource(1, &mut env).unwrap().nested.unwrap();
    let mut inner = plan_nested(&n, &mut env).unwrap();
    assert_eq!(
        inner.evaluate_resource(0, &mut env).unwrap().body["properties"]["p"],
        "pp"
    );
    // Inner scope does not see the parent's resources.
    let mut t = json!({"resources": [identity("parentId"),
        {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "n",
         "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"}, "template": {"resources": [
            {"type": "A.B/c", "apiVersion": "1", "name": "child", "properties": {"p": "[reference('parentId').principalId]"}}]}}}]});
    let (mut p, mut env) = plan_ok(t.take(), Value::Null);
    let n = p.evaluate_resource(1, &mut env).unwrap().nested.unwrap();
    assert!(plan_nested(&n, &mut env)
        .unwrap_err()
        .message
        .contains("The template reference 'parentId' is not valid"));
}
