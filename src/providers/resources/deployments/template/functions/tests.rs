//! Function cases, taken from the examples of Microsoft Learn's function reference pages
//! (azure-resource-manager/templates/template-functions-*.md; the page is named above each
//! test). Parameters named as in the examples are bound in [`state`].

use super::super::error::EvalError;
use super::super::eval::{eval_string, Ctx, Declared, Phase, State};
use super::super::hash;
use super::super::tests::{FakeEnv, RG, SUB};
use serde_json::{json, Value};

fn state() -> State {
    let mut st = State::default();
    let params = json!({
        "stringToTest": "OneTwoThree",
        "objectToTest": {"one": "a", "two": "b", "three": "c"},
        "arrayToTest": ["one", "two", "three"],
        "firstArray": ["1-1", "1-2", "1-3"],
        "secondArray": ["2-1", "2-2", "2-3"],
        "firstObject": {"one": "a", "two": "b", "three": "c"},
        "secondObject": {"one": "a", "two": "z", "three": "c"},
        "lengthObject": {"propA": "one", "propB": "two", "propC": "three", "propD": {"propD-1": "sub", "propD-2": "sub"}},
        "nullObject": {"null1": null, "null2": null, "string": "default", "int": 1, "object": {"first": "default"}, "array": [1]},
        "intArray": [0, 3, 2, 5, 4],
        "dogs": [
            {"name": "Evie", "age": 5, "interests": ["Ball", "Frisbee"]},
            {"name": "Casper", "age": 3, "interests": ["Other dogs"]},
            {"name": "Indy", "age": 2, "interests": ["Butter"]},
            {"name": "Kira", "age": 8, "interests": ["Rubs"]}
        ],
        "ages": [5, 3, 2, 8]
    });
    st.params = params.as_object().unwrap().clone();
    st
}

fn run(s: &str, phase: Phase, st: &mut State, env: &mut FakeEnv) -> Result<Value, EvalError> {
    let mut ctx = Ctx::new(st, env, phase);
    eval_string(&mut ctx, s)
}

/// Evaluates an expression in resource properties.
fn ev(s: &str) -> Value {
    run(s, Phase::Body, &mut state(), &mut FakeEnv::new()).unwrap_or_else(|e| panic!("{s}: {}", e.message))
}

fn err(s: &str) -> EvalError {
    run(s, Phase::Body, &mut state(), &mut FakeEnv::new()).expect_err(s)
}

fn rg_id() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{RG}")
}

// ---- template-functions-string ------------------------------------------------------------

#[test]
fn base64_base64_to_string_and_base64_to_json() {
    assert_eq!(ev("[base64('one, two, three')]"), "b25lLCB0d28sIHRocmVl");
    assert_eq!(ev("[base64ToString('b25lLCB0d28sIHRocmVl')]"), "one, two, three");
    assert_eq!(
        ev("[base64ToJson(base64('{''one'': ''a'', ''two'': ''b''}'))]"),
        json!({"one": "a", "two": "b"})
    );
    assert!(err("[base64ToString('***')]")
        .message
        .contains("not a valid Base-64 string"));
}

#[test]
fn concat_strings_and_arrays() {
    assert_eq!(
        ev("[concat('prefix', '-', uniqueString(resourceGroup().id))]"),
        json!(format!("prefix-{}", hash::unique_string(&[&rg_id()])))
    );
    assert_eq!(
        ev("[concat(parameters('firstArray'), parameters('secondArray'))]"),
        json!(["1-1", "1-2", "1-3", "2-1", "2-2", "2-3"])
    );
    assert_eq!(ev("[concat('a', 1, true())]"), "a1True");
    assert!(err("[concat(createArray(1), 'x')]")
        .message
        .contains("expects its second parameter to be of type 'Array'"));
    assert!(err("[concat()]")
        .message
        .contains("must have at least '1' parameter(s)"));
}

#[test]
fn contains_on_strings_objects_and_arrays() {
    assert_eq!(ev("[contains(parameters('stringToTest'), 'e')]"), true);
    assert_eq!(ev("[contains(parameters('stringToTest'), 'z')]"), false);
    assert_eq!(ev("[contains(parameters('objectToTest'), 'one')]"), true);
    assert_eq!(ev("[contains(parameters('objectToTest'), 'a')]"), false);
    assert_eq!(ev("[contains(parameters('arrayToTest'), 'three')]"), true);
    assert_eq!(ev("[contains(parameters('arrayToTest'), 'four')]"), false);
    // Case: strings are case-sensitive, object keys are not.
    assert_eq!(ev("[contains('OneTwo', 'one')]"), false);
    assert_eq!(ev("[contains(parameters('objectToTest'), 'ONE')]"), true);
}

#[test]
fn data_uri_and_data_uri_to_string() {
    assert_eq!(ev("[dataUri('Hello')]"), "data:text/plain;charset=utf8;base64,SGVsbG8=");
    assert_eq!(
        ev("[dataUriToString('data:;base64,SGVsbG8sIFdvcmxkIQ==')]"),
        "Hello, World!"
    );
}

#[test]
fn empty_on_array_object_and_string() {
    assert_eq!(ev("[empty(createArray())]"), true);
    assert_eq!(ev("[empty(createObject())]"), true);
    assert_eq!(ev("[empty('')]"), true);
    assert_eq!(ev("[empty(null())]"), true);
    assert_eq!(ev("[empty('a')]"), false);
}

#[test]
fn starts_with_and_ends_with_ignore_case() {
    assert_eq!(ev("[startsWith('abcdef', 'ab')]"), true);
    assert_eq!(ev("[startsWith('abcdef', 'A')]"), true);
    assert_eq!(ev("[startsWith('abcdef', 'e')]"), false);
    assert_eq!(ev("[endsWith('abcdef', 'ef')]"), true);
    assert_eq!(ev("[endsWith('abcdef', 'F')]"), true);
    assert_eq!(ev("[endsWith('abcdef', 'e')]"), false);
}

#[test]
fn first_and_last_on_arrays_and_strings() {
    assert_eq!(ev("[first(parameters('arrayToTest'))]"), "one");
    assert_eq!(ev("[first('One Two Three')]"), "O");
    assert_eq!(ev("[last(parameters('arrayToTest'))]"), "three");
    assert_eq!(ev("[last('One Two Three')]"), "e");
    assert_eq!(ev("[first(createArray())]"), Value::Null);
    assert_eq!(ev("[last('')]"), "");
}

#[test]
fn format_uses_dotnet_composite_formatting() {
    assert_eq!(
        ev("[format('{0}, {1}. Formatted number: {2:N0}', 'Hello', 'User', 8175133)]"),
        "Hello, User. Formatted number: 8,175,133"
    );
    assert_eq!(ev("[format('{0} {1}', true(), 3)]"), "True 3");
    assert!(err("[format('{1}', 'a')]")
        .message
        .contains("Unable to evaluate template language function 'format'"));
}

#[test]
fn guid_is_deterministic_and_order_sensitive() {
    assert_eq!(ev("[guid('a')]"), "3703365d-5a9f-59b4-bca7-b9681389e4c1");
    assert_eq!(ev("[guid('hello', 'world')]"), "a5b868f8-11fe-567a-ace0-e77cc87f104e");
    assert_ne!(ev("[guid('world', 'hello')]"), ev("[guid('hello', 'world')]"));
    assert_eq!(ev("[guid(subscription().id)]"), "b6af2640-793e-5e23-87ed-3a1ed155add8");
    assert!(err("[guid(1)]")
        .message
        .contains("expects its first parameter to be of type 'String'"));
}

#[test]
fn index_of_and_last_index_of_ignore_case() {
    assert_eq!(ev("[indexOf('test', 't')]"), 0);
    assert_eq!(ev("[lastIndexOf('test', 't')]"), 3);
    assert_eq!(ev("[indexOf('abcdef', 'CD')]"), 2);
    assert_eq!(ev("[lastIndexOf('abcdef', 'AB')]"), 0);
    assert_eq!(ev("[indexOf('abcdef', 'z')]"), -1);
}

#[test]
fn join_with_delimiters() {
    assert_eq!(ev("[join(parameters('arrayToTest'), ',')]"), "one,two,three");
    assert_eq!(ev("[join(parameters('arrayToTest'), ';')]"), "one;two;three");
    assert!(err("[join(createArray(createArray()), ',')]").message.contains("join"));
}

#[test]
fn length_of_array_string_and_object() {
    assert_eq!(ev("[length(parameters('arrayToTest'))]"), 3);
    assert_eq!(ev("[length('One Two Three')]"), 13);
    assert_eq!(ev("[length(parameters('lengthObject'))]"), 4);
    assert!(err("[length(1)]").message.contains("'Array, Object, String'"));
}

#[test]
fn pad_left_pads_to_the_total_length() {
    assert_eq!(ev("[padLeft('123', 10, '0')]"), "0000000123");
    assert_eq!(ev("[padLeft(7, 3, '0')]"), "007");
    assert_eq!(ev("[padLeft('abc', 2)]"), "abc");
    assert_eq!(ev("[padLeft('a', 3)]"), "  a");
}

#[test]
fn replace_is_case_sensitive() {
    assert_eq!(ev("[replace('123-123-1234', '-', '')]"), "1231231234");
    assert_eq!(ev("[replace('123-123-1234', '1234', 'xxxx')]"), "123-123-xxxx");
    assert_eq!(ev("[replace('aA', 'a', 'b')]"), "bA");
}

#[test]
fn skip_and_take_on_arrays_and_strings() {
    assert_eq!(ev("[skip(parameters('arrayToTest'), 2)]"), json!(["three"]));
    assert_eq!(ev("[skip('one two three', 4)]"), "two three");
    assert_eq!(ev("[take(parameters('arrayToTest'), 2)]"), json!(["one", "two"]));
    assert_eq!(ev("[take('one two three', 2)]"), "on");
    assert_eq!(ev("[take('abc', -1)]"), "");
    assert_eq!(ev("[skip('abc', 10)]"), "");
    assert_eq!(ev("[skip(createArray(1, 2), -3)]"), json!([1, 2]));
}

#[test]
fn split_on_one_or_several_delimiters() {
    assert_eq!(ev("[split('one,two,three', ',')]"), json!(["one", "two", "three"]));
    assert_eq!(
        ev("[split('one;two,three', createArray(',', ';'))]"),
        json!(["one", "two", "three"])
    );
}

#[test]
fn string_serializes_objects_arrays_numbers_and_bools() {
    assert_eq!(
        ev("[string(json('{\"valueA\": 10, \"valueB\": \"Example Text\"}'))]"),
        r#"{"valueA":10,"valueB":"Example Text"}"#
    );
    assert_eq!(ev("[string(createArray('a', 'b', 'c'))]"), r#"["a","b","c"]"#);
    assert_eq!(ev("[string(5)]"), "5");
    assert_eq!(ev("[string(true())]"), "True");
    assert_eq!(ev("[string('x')]"), "x");
}

#[test]
fn substring_and_its_documented_error() {
    assert_eq!(ev("[substring('one two three', 4, 3)]"), "two");
    assert_eq!(ev("[substring('one two three', 8)]"), "three");
    assert_eq!(
        err("[substring('helloworld', 0, 11)]").message,
        "The index and length parameters must refer to a location within the string. The index parameter: '0', the length parameter: '11', the length of the string parameter: '10'. Please see https://aka.ms/arm-functions for usage details."
    );
}

#[test]
fn to_lower_to_upper_and_trim() {
    assert_eq!(ev("[toLower('One Two Three')]"), "one two three");
    assert_eq!(ev("[toUpper('One Two Three')]"), "ONE TWO THREE");
    assert_eq!(ev("[trim('    one two three   ')]"), "one two three");
}

#[test]
fn unique_string_matches_azure() {
    assert_eq!(
        ev("[uniqueString('/subscriptions/00000000-0000-0000-0000-000000000000', 'resource-id')]"),
        "cwvxuqg24sifi"
    );
    assert_eq!(ev("[uniqueString('test')]"), "rbgf3xv4ufgzg");
    assert_eq!(ev("[uniqueString('hello', 'world')]"), "a7wkljktk6wne");
    assert_eq!(
        ev("[uniqueString(concat(subscription().id, '/resourceGroups/my-rg'))]"),
        "bmg7c6xu4tw46"
    );
    assert!(err("[uniqueString()]")
        .message
        .contains("must have at least '1' parameter(s)"));
    assert!(err("[uniqueString(createArray())]")
        .message
        .contains("of type 'String'"));
}

#[test]
fn uri_resolves_relative_references() {
    assert_eq!(
        ev("[uri('http://contoso.org/firstpath', 'myscript.sh')]"),
        "http://contoso.org/myscript.sh"
    );
    assert_eq!(
        ev("[uri('http://contoso.org/firstpath/', 'myscript.sh')]"),
        "http://contoso.org/firstpath/myscript.sh"
    );
    assert_eq!(
        ev("[uri('http://contoso.org/firstpath/azuredeploy.json', 'myscript.sh')]"),
        "http://contoso.org/firstpath/myscript.sh"
    );
    assert_eq!(
        ev("[uri('http://contoso.org/firstpath/azuredeploy.json/', 'myscript.sh')]"),
        "http://contoso.org/firstpath/azuredeploy.json/myscript.sh"
    );
    assert_eq!(ev("[uri('http://contoso.org/a/b', '/c')]"), "http://contoso.org/c");
    assert_eq!(ev("[uri('http://contoso.org/a/b/', '../c')]"), "http://contoso.org/a/c");
    assert_eq!(ev("[uri('http://contoso.org', 'c')]"), "http://contoso.org/c");
}

#[test]
fn uri_component_and_back() {
    assert_eq!(
        ev("[uriComponent('http://contoso.com/resources/nested/azuredeploy.json')]"),
        "http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json"
    );
    assert_eq!(
        ev("[uriComponentToString('http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json')]"),
        "http://contoso.com/resources/nested/azuredeploy.json"
    );
}

// ---- template-functions-array / template-functions-object --------------------------------

#[test]
fn array_wraps_values() {
    assert_eq!(ev("[array(1)]"), json!([1]));
    assert_eq!(ev("[array('efgh')]"), json!(["efgh"]));
    assert_eq!(
        ev("[array(createObject('a', 'b', 'c', 'd'))]"),
        json!([{"a": "b", "c": "d"}])
    );
    assert_eq!(ev("[array(createArray(1))]"), json!([1]));
}

#[test]
fn create_array_and_create_object() {
    assert_eq!(ev("[createArray('a', 'b', 'c')]"), json!(["a", "b", "c"]));
    assert_eq!(ev("[createArray(1, 2, 3)]"), json!([1, 2, 3]));
    assert_eq!(
        ev("[createArray(parameters('objectToTest'))]"),
        json!([{"one": "a", "two": "b", "three": "c"}])
    );
    assert_eq!(
        ev("[createObject('intProp', 1, 'stringProp', 'abc', 'boolProp', true(), 'arrayProp', createArray('a', 'b', 'c'), 'objectProp', createObject('key1', 'value1'))]"),
        json!({"intProp": 1, "stringProp": "abc", "boolProp": true, "arrayProp": ["a", "b", "c"], "objectProp": {"key1": "value1"}})
    );
    assert!(err("[createObject('a')]").message.contains("even"));
}

#[test]
fn intersection_of_objects_and_arrays() {
    assert_eq!(
        ev("[intersection(parameters('firstObject'), parameters('secondObject'))]"),
        json!({"one": "a", "three": "c"})
    );
    assert_eq!(
        ev("[intersection(parameters('arrayToTest'), createArray('two', 'three'))]"),
        json!(["two", "three"])
    );
    assert!(err("[intersection(createArray(), createObject())]")
        .message
        .contains("'Array'"));
}

#[test]
fn union_of_arrays_and_deep_union_of_objects() {
    assert_eq!(
        ev("[union(createObject('one', 'a', 'two', 'b', 'three', 'c1'), createObject('three', 'c2', 'four', 'd', 'five', 'e'))]"),
        json!({"one": "a", "two": "b", "three": "c2", "four": "d", "five": "e"})
    );
    assert_eq!(
        ev("[union(parameters('arrayToTest'), createArray('three', 'four'))]"),
        json!(["one", "two", "three", "four"])
    );
    // bicep-functions-object#union: nested objects merge, nested arrays are replaced.
    assert_eq!(
        ev("[union(json('{\"property\":{\"one\":\"a\",\"two\":\"b\",\"three\":\"c1\"},\"nestedArray\":[1,2]}'), json('{\"property\":{\"three\":\"c2\",\"four\":\"d\",\"five\":\"e\"},\"nestedArray\":[3,4]}'))]"),
        json!({"property": {"one": "a", "two": "b", "three": "c2", "four": "d", "five": "e"}, "nestedArray": [3, 4]})
    );
}

#[test]
fn min_max_and_range() {
    assert_eq!(ev("[min(parameters('intArray'))]"), 0);
    assert_eq!(ev("[min(0, 3, 2, 5, 4)]"), 0);
    assert_eq!(ev("[max(parameters('intArray'))]"), 5);
    assert_eq!(ev("[max(0, 3, 2, 5, 4)]"), 5);
    assert_eq!(ev("[range(1, 5)]"), json!([1, 2, 3, 4, 5]));
    assert_eq!(ev("[range(5, 0)]"), json!([]));
    assert!(err("[range(0, 10001)]").message.contains("10000"));
    assert!(err("[range(2147483647, 1)]").message.contains("2147483647"));
    assert!(err("[min(createArray())]").message.contains("empty"));
}

#[test]
fn index_of_on_arrays_uses_deep_equality() {
    // template-functions-array#indexof
    assert_eq!(ev("[indexOf(createArray('one', 'two', 'three'), 'two')]"), 1);
    assert_eq!(
        ev("[indexOf(createArray(createArray('one'), createArray(4, 5, 6)), createArray(4, 5, 6))]"),
        1
    );
    assert_eq!(ev("[indexOf(createArray(4, 5, 6), 4)]"), 0);
    assert_eq!(ev("[lastIndexOf(createArray(1, 2, 3, 1), 1)]"), 3);
    assert_eq!(ev("[indexOf(createArray(1), 'x')]"), -1);
}

#[test]
fn items_sorts_by_key() {
    assert_eq!(
        ev("[items(json('{\"item002\": {\"enabled\": false, \"number\": 200}, \"item001\": {\"enabled\": true, \"number\": 300}}'))]"),
        json!([{"key": "item001", "value": {"enabled": true, "number": 300}}, {"key": "item002", "value": {"enabled": false, "number": 200}}])
    );
}

#[test]
fn json_parses_objects_null_strings_and_single_quotes() {
    assert_eq!(ev("[json('{\"a\": \"b\"}')]"), json!({"a": "b"}));
    assert_eq!(ev("[json('null')]"), Value::Null);
    assert_eq!(ev("[json('\"demo value\"')]"), "demo value");
    assert_eq!(ev("[json('[1, 2]')]"), json!([1, 2]));
    assert!(err("[json('{')]").message.contains("not valid JSON"));
}

#[test]
fn coalesce_null_object_keys_and_try_get() {
    assert_eq!(ev("[coalesce(parameters('nullObject').null1, parameters('nullObject').null2, parameters('nullObject').string)]"), "default");
    assert_eq!(
        ev("[coalesce(parameters('nullObject').null1, parameters('nullObject').null2, parameters('nullObject').int)]"),
        1
    );
    assert_eq!(
        ev("[coalesce(parameters('nullObject').null1, parameters('nullObject').null2)]"),
        Value::Null
    );
    assert_eq!(ev("[null()]"), Value::Null);
    assert_eq!(ev("[objectKeys(createObject('a', 1, 'b', 2))]"), json!(["a", "b"]));
    assert_eq!(ev("[tryGet(parameters('objectToTest'), 'one')]"), "a");
    assert_eq!(ev("[tryGet(parameters('objectToTest'), 'nope')]"), Value::Null);
}

// ---- template-functions-logical / numeric / comparison ----------------------------------

#[test]
fn logical_functions() {
    assert_eq!(ev("[and(true(), false())]"), false);
    assert_eq!(ev("[and(true(), true(), true())]"), true);
    assert_eq!(ev("[or(true(), false())]"), true);
    assert_eq!(ev("[not(true())]"), false);
    assert_eq!(ev("[bool('true')]"), true);
    assert_eq!(ev("[bool('false')]"), false);
    assert_eq!(ev("[bool(1)]"), true);
    assert_eq!(ev("[bool(0)]"), false);
    assert_eq!(ev("[true()]"), true);
    assert_eq!(ev("[false()]"), false);
    assert!(err("[and(true(), 'x')]")
        .message
        .contains("expects its second parameter to be of type 'Boolean'"));
}

#[test]
fn if_evaluates_only_the_chosen_branch() {
    assert_eq!(ev("[if(equals('a', 'a'), 'yes', 'no')]"), "yes");
    assert_eq!(ev("[if(equals('a', 'b'), 'yes', 'no')]"), "no");
    assert_eq!(
        ev("[if(true(), createObject('test', 'value'), json('null'))]"),
        json!({"test": "value"})
    );
    // The other branch would fail: it is never evaluated.
    assert_eq!(ev("[if(false(), parameters('nope'), 'safe')]"), "safe");
    assert!(err("[if('x', 1, 2)]").message.contains("of type 'Boolean'"));
}

#[test]
fn numeric_functions() {
    assert_eq!(ev("[add(5, 3)]"), 8);
    assert_eq!(ev("[sub(7, 3)]"), 4);
    assert_eq!(ev("[mul(5, 3)]"), 15);
    assert_eq!(ev("[div(8, 3)]"), 2);
    assert_eq!(ev("[div(-7, 2)]"), -3);
    assert_eq!(ev("[mod(7, 3)]"), 1);
    assert_eq!(ev("[int('4')]"), 4);
    assert_eq!(ev("[float('3.5')]"), 3.5);
    assert!(err("[div(1, 0)]").message.contains("divide by zero"));
    assert!(err("[add(9223372036854775807, 1)]").message.contains("overflow"));
    // Verbatim Azure text (Azure/azure-quickstart-templates#2019).
    assert_eq!(
        err("[int(true())]").message,
        "The template language function 'int' expects its first parameter to be one of the following types 'Integer, String'. The provided value is of type 'Boolean'. Please see https://aka.ms/arm-functions for usage details."
    );
}

#[test]
fn comparison_functions() {
    assert_eq!(ev("[equals(1, 1)]"), true);
    assert_eq!(ev("[equals('a', 'a')]"), true);
    assert_eq!(ev("[equals('a', 'A')]"), false);
    assert_eq!(ev("[equals(createArray('a', 'b'), createArray('a', 'b'))]"), true);
    assert_eq!(ev("[equals(createObject('a', 'b'), createObject('a', 'b'))]"), true);
    assert_eq!(ev("[equals(1, '1')]"), false);
    assert_eq!(ev("[less(1, 10)]"), true);
    assert_eq!(ev("[less('A', 'a')]"), true);
    assert_eq!(ev("[lessOrEquals(10, 10)]"), true);
    assert_eq!(ev("[greater(10, 1)]"), true);
    assert_eq!(ev("[greater('A', 'a')]"), false);
    assert_eq!(ev("[greaterOrEquals('a', 'a')]"), true);
    assert!(err("[less(1, 'a')]").message.contains("second parameter"));
}

// ---- deployment, scope and resource functions --------------------------------------------

#[test]
fn scope_functions_read_the_environment() {
    assert_eq!(ev("[resourceGroup().location]"), "westeurope");
    assert_eq!(ev("[resourceGroup().id]"), json!(rg_id()));
    assert_eq!(ev("[subscription().subscriptionId]"), SUB);
    assert_eq!(ev("[tenant().countryCode]"), "US");
    assert_eq!(ev("[environment().name]"), "AzureCloud");
    assert_eq!(ev("[environment().suffixes.acrLoginServer]"), ".azurecr.io");
    assert_eq!(ev("[deployment().name]"), "dep1");
    // Property names resolve case-insensitively.
    assert_eq!(ev("[resourceGroup().Location]"), "westeurope");
}

#[test]
fn resource_id_forms() {
    // template-functions-resource#resourceid
    assert_eq!(
        ev("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet', 'default')]"),
        json!(format!(
            "{}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default",
            rg_id()
        ))
    );
    assert_eq!(
        ev("[resourceId('otherResourceGroup', 'Microsoft.Storage/storageAccounts', 'examplestorage')]"),
        json!(format!("/subscriptions/{SUB}/resourceGroups/otherResourceGroup/providers/Microsoft.Storage/storageAccounts/examplestorage"))
    );
    assert_eq!(
        ev("[resourceId('11111111-1111-1111-1111-111111111111', 'otherRG', 'Microsoft.Storage/storageAccounts', 's')]"),
        "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/otherRG/providers/Microsoft.Storage/storageAccounts/s"
    );
    // A trailing slash in the type, as in the docs' dependsOn example.
    assert_eq!(
        ev("[resourceId('Microsoft.Network/networkSecurityGroups/', 'nsg')]"),
        json!(format!(
            "{}/providers/Microsoft.Network/networkSecurityGroups/nsg",
            rg_id()
        ))
    );
    assert!(err("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet')]")
        .message
        .contains("requires '2' resource name argument(s)"));
}

#[test]
fn subscription_tenant_and_extension_resource_ids() {
    assert_eq!(
        ev("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]"),
        json!(format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"))
    );
    assert_eq!(
        ev("[tenantResourceId('Microsoft.Authorization/policyDefinitions', 'p1')]"),
        "/providers/Microsoft.Authorization/policyDefinitions/p1"
    );
    assert_eq!(
        ev("[extensionResourceId(resourceGroup().id, 'Microsoft.Authorization/locks', 'lock1')]"),
        json!(format!("{}/providers/Microsoft.Authorization/locks/lock1", rg_id()))
    );
}

#[test]
fn resource_id_at_subscription_scope_has_no_resource_group() {
    let mut env = FakeEnv::subscription_scope();
    let v = run(
        "[resourceId('Microsoft.Resources/resourceGroups', 'rg2')]",
        Phase::Body,
        &mut state(),
        &mut env,
    )
    .unwrap();
    assert_eq!(
        v,
        json!(format!(
            "/subscriptions/{SUB}/providers/Microsoft.Resources/resourceGroups/rg2"
        ))
    );
}

#[test]
fn reference_by_id_name_api_version_and_full() {
    let mut st = state();
    let id = format!(
        "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1",
        rg_id()
    );
    st.declared.push(Declared {
        name: "id1".into(),
        full_type: "Microsoft.ManagedIdentity/userAssignedIdentities".into(),
        id: id.clone(),
        api_version: "2023-01-31".into(),
        copy_name: None,
        symbolic: Some("ident".into()),
        enabled: true,
    });
    let mut env = FakeEnv::new();
    env.put(
        &id,
        json!({"id": id, "location": "westeurope", "properties": {"principalId": "p"}}),
    );
    assert_eq!(
        run("[reference('id1').principalId]", Phase::Body, &mut st, &mut env).unwrap(),
        "p"
    );
    assert_eq!(
        run("[reference('ident').principalId]", Phase::Body, &mut st, &mut env).unwrap(),
        "p"
    );
    assert_eq!(
        run(
            &format!("[reference('{id}', '2018-11-30', 'Full').location]"),
            Phase::Body,
            &mut st,
            &mut env
        )
        .unwrap(),
        "westeurope"
    );
    assert_eq!(
        run(
            &format!("[reference('{id}').principalId]"),
            Phase::Outputs,
            &mut st,
            &mut env
        )
        .unwrap(),
        "p"
    );
    assert_eq!(
        env.calls,
        [
            format!("reference {id} 2023-01-31 false"),
            format!("reference {id} 2023-01-31 false"),
            format!("reference {id} 2018-11-30 true"),
            format!("reference {id} 2023-01-31 false"),
        ]
    );
    let e = run("[reference('id1')]", Phase::Header, &mut st, &mut env).unwrap_err();
    assert!(
        e.message.contains("'reference' is not expected at this location"),
        "{}",
        e.message
    );
}

#[test]
fn copy_index_needs_a_copy_loop() {
    let mut st = state();
    let mut env = FakeEnv::new();
    let mut ctx = Ctx::new(&mut st, &mut env, Phase::Body);
    ctx.copy = vec![("outer".into(), 2), ("inner".into(), 5)];
    assert_eq!(eval_string(&mut ctx, "[copyIndex()]").unwrap(), 5);
    assert_eq!(eval_string(&mut ctx, "[copyIndex(1)]").unwrap(), 6);
    assert_eq!(eval_string(&mut ctx, "[copyIndex('OUTER')]").unwrap(), 2);
    assert_eq!(eval_string(&mut ctx, "[copyIndex('outer', 10)]").unwrap(), 12);
    assert!(eval_string(&mut ctx, "[copyIndex('nope')]")
        .unwrap_err()
        .message
        .contains("'nope' is not found"));
    let e = err("[copyIndex()]");
    assert!(
        e.message
            .contains("The template function 'copyIndex' is not expected at this location."),
        "{}",
        e.message
    );
}

#[test]
fn parameters_and_variables_functions() {
    assert_eq!(ev("[parameters('stringToTest')]"), "OneTwoThree");
    assert_eq!(ev("[parameters('STRINGTOTEST')]"), "OneTwoThree");
    assert_eq!(
        err("[parameters('nope')]").message,
        "The template parameter 'nope' is not found. Please see https://aka.ms/arm-syntax-parameters for usage details."
    );
    assert!(err("[variables('nope')]")
        .message
        .contains("The template variable 'nope' is not found."));
}

// ---- the evaluator ------------------------------------------------------------------------

#[test]
fn function_names_are_case_insensitive() {
    assert_eq!(ev("[CONCAT('a', ToUpper('b'))]"), "aB");
}

#[test]
fn unknown_functions_and_bad_accessors_are_reported_with_positions() {
    let e = err("[concat('a', nosuch())]");
    assert_eq!(
        e.message,
        "The template function 'nosuch' is not valid. Please see https://aka.ms/arm-functions for usage details."
    );
    assert_eq!(e.position, Some(13));
    let e = err("[parameters('objectToTest').four]");
    assert_eq!(
        e.message,
        "The language expression property 'four' doesn't exist, available properties are 'one, two, three'."
    );
    assert_eq!(e.position, Some(27));
    let e = err("[parameters('arrayToTest')[3]]");
    assert_eq!(
        e.message,
        "The language expression property array index '3' is out of bounds."
    );
    assert_eq!(ev("[parameters('arrayToTest')[1]]"), "two");
    assert_eq!(ev("[parameters('objectToTest')['two']]"), "b");
    assert!(err("[parameters('stringToTest').x]")
        .message
        .contains("can't be evaluated"));
}

#[test]
fn literals_and_escapes() {
    assert_eq!(ev("[[literal]"), "[literal]");
    assert_eq!(ev("plain"), "plain");
    assert_eq!(ev("['It''s']"), "It's");
    assert_eq!(ev("[add(-1, 2)]"), 1);
}

// ---- template-functions-lambda (the documentation's "dogs" examples) ---------------------

#[test]
fn filter_with_lambda() {
    assert_eq!(
        ev("[map(filter(parameters('dogs'), lambda('dog', greaterOrEquals(lambdaVariables('dog').age, 5))), lambda('d', lambdaVariables('d').name))]"),
        json!(["Evie", "Kira"])
    );
    assert_eq!(
        ev("[filter(range(0, 10), lambda('i', lessOrEquals(lambdaVariables('i'), 3)))]"),
        json!([0, 1, 2, 3])
    );
    assert!(err("[filter(range(0, 2), lambda('i', 1))]")
        .message
        .contains("'Boolean'"));
}

#[test]
fn map_with_lambda_and_index() {
    assert_eq!(
        ev("[map(parameters('dogs'), lambda('dog', lambdaVariables('dog').name))]"),
        json!(["Evie", "Casper", "Indy", "Kira"])
    );
    assert_eq!(
        ev("[map(parameters('arrayToTest'), lambda('x', 'i', concat(string(lambdaVariables('i')), '-', lambdaVariables('x'))))]"),
        json!(["0-one", "1-two", "2-three"])
    );
}

#[test]
fn reduce_with_lambda() {
    assert_eq!(ev("[reduce(parameters('ages'), 0, lambda('cur', 'next', add(lambdaVariables('cur'), lambdaVariables('next'))))]"), 18);
    assert_eq!(
        ev("[reduce(parameters('arrayToTest'), '', lambda('cur', 'next', concat(lambdaVariables('cur'), lambdaVariables('next'))))]"),
        "onetwothree"
    );
}

#[test]
fn sort_with_lambda() {
    assert_eq!(
        ev("[map(sort(parameters('dogs'), lambda('a', 'b', less(lambdaVariables('a').age, lambdaVariables('b').age))), lambda('d', lambdaVariables('d').name))]"),
        json!(["Indy", "Casper", "Evie", "Kira"])
    );
}

#[test]
fn to_object_group_by_and_map_values() {
    assert_eq!(
        ev("[toObject(parameters('dogs'), lambda('entry', lambdaVariables('entry').name), lambda('entry', lambdaVariables('entry').age))]"),
        json!({"Evie": 5, "Casper": 3, "Indy": 2, "Kira": 8})
    );
    assert_eq!(
        ev("[groupBy(createArray('foo', 'bar', 'baz'), lambda('x', substring(lambdaVariables('x'), 0, 1)))]"),
        json!({"f": ["foo"], "b": ["bar", "baz"]})
    );
    assert_eq!(
        ev("[mapValues(createObject('a', 1, 'b', 2), lambda('v', mul(lambdaVariables('v'), 10)))]"),
        json!({"a": 10, "b": 20})
    );
}

#[test]
fn lambda_variables_outside_a_lambda_and_non_lambda_arguments_are_refused() {
    assert!(err("[lambdaVariables('x')]")
        .message
        .contains("The lambda variable 'x' is not found."));
    assert!(err("[filter(createArray(1), 'x')]").message.contains("lambda function"));
}

// ---- template-functions-date ----------------------------------------------------------------

#[test]
fn date_time_add_with_durations() {
    // template-functions-date#datetimeadd, base time 2020-04-07 14:53:14Z.
    assert_eq!(
        ev("[dateTimeAdd('2020-04-07 14:53:14Z', 'P3Y')]"),
        "2023-04-07T14:53:14Z"
    );
    assert_eq!(
        ev("[dateTimeAdd('2020-04-07 14:53:14Z', '-P9D')]"),
        "2020-03-29T14:53:14Z"
    );
    assert_eq!(
        ev("[dateTimeAdd('2020-04-07 14:53:14Z', 'PT1H')]"),
        "2020-04-07T15:53:14Z"
    );
    // bicep-functions-date#datetimeadd remarks: a month is 30 days.
    assert_eq!(
        ev("[dateTimeAdd('2023-01-31 00:00:00Z', 'P1M')]"),
        "2023-03-02T00:00:00Z"
    );
    assert_eq!(
        ev("[dateTimeAdd('2024-01-31 00:00:00Z', 'P1M')]"),
        "2024-03-01T00:00:00Z"
    );
    assert_eq!(
        ev("[dateTimeAdd('20190305T175318Z', 'PT30M', 'u')]"),
        "2019-03-05 18:23:18Z"
    );
    assert_eq!(
        ev("[dateTimeAdd('2020-04-07T14:53:14+02:00', 'PT0S')]"),
        "2020-04-07T12:53:14Z"
    );
    assert!(err("[dateTimeAdd('yesterday', 'P1D')]")
        .message
        .contains("not a valid ISO 8601 date time"));
    assert!(err("[dateTimeAdd('2020-04-07', '1D')]")
        .message
        .contains("not a valid ISO 8601 duration"));
}

#[test]
fn epoch_conversions() {
    // bicep-functions-date#datetimefromepoch example: 1683040573 is 2023-05-02T15:16:13Z.
    assert_eq!(ev("[dateTimeFromEpoch(1683040573)]"), "2023-05-02T15:16:13Z");
    assert_eq!(ev("[dateTimeToEpoch('2023-05-02T15:16:13Z')]"), 1683040573);
    assert_eq!(ev("[dateTimeToEpoch(dateTimeFromEpoch(0))]"), 0);
}

// ---- hostile input: errors, never panics ----------------------------------------------------

#[test]
fn hostile_expressions_fail_cleanly() {
    let deep = format!("[{}1{}]", "string(".repeat(300), ")".repeat(300));
    let long = format!("[concat('{}')]", "a".repeat(30_000));
    let cases = [
        deep.as_str(),
        long.as_str(),
        "[padLeft('a', 9223372036854775807)]",
        "[format('{0,999999999}', 1)]",
        "[range(9223372036854775807, 10)]",
        "[substring('abc', 9223372036854775807, 9223372036854775807)]",
        "[dateTimeFromEpoch(-9223372036854775807)]",
        "[dateTimeAdd('2020-01-01', 'P99999999999999Y')]",
        "[mod(-9223372036854775808, -1)]",
        "[mul(9223372036854775807, 2)]",
        "[parameters('arrayToTest')[-1]]",
        "[json('[[[[[[')]",
        "[base64ToString('%%%')]",
        "[int('99999999999999999999')]",
    ];
    for c in cases {
        let r = run(c, Phase::Body, &mut state(), &mut FakeEnv::new());
        assert!(r.is_err(), "{c} should fail, got {r:?}");
    }
    // Large but allowed precision is capped rather than allocated.
    assert_eq!(ev("[format('{0:D999999}', 7)]").as_str().unwrap().len(), 99);
    let mut ctx_copy = state();
    let mut env = FakeEnv::new();
    let mut ctx = Ctx::new(&mut ctx_copy, &mut env, Phase::Body);
    ctx.copy = vec![("x".into(), 1)];
    assert!(eval_string(&mut ctx, "[copyIndex(9223372036854775807)]").is_err());
}

#[test]
fn user_functions_cannot_recurse() {
    let mut st = state();
    st.functions.insert(
        "a.f".into(),
        super::super::eval::UserFunction {
            params: vec![],
            output: json!("[a.f()]"),
        },
    );
    let e = run("[a.f()]", Phase::Body, &mut st, &mut FakeEnv::new()).unwrap_err();
    assert!(
        e.message.contains("can't call other user-defined functions"),
        "{}",
        e.message
    );
}

// ---- template-functions-cidr, flatten, shallowMerge ---------------------------------------

#[test]
fn cidr_functions() {
    assert_eq!(
        ev("[parseCidr('10.144.0.0/20')]"),
        json!({"network": "10.144.0.0", "netmask": "255.255.240.0", "broadcast": "10.144.15.255", "firstUsable": "10.144.0.1", "lastUsable": "10.144.15.254", "cidr": 20})
    );
    assert_eq!(ev("[cidrSubnet('10.144.0.0/20', 24, 3)]"), "10.144.3.0/24");
    assert_eq!(ev("[cidrSubnet('10.144.0.0/20', 24, 0)]"), "10.144.0.0/24");
    assert_eq!(ev("[cidrHost('10.144.3.0/24', 0)]"), "10.144.3.1");
    assert_eq!(ev("[cidrHost('10.144.3.0/24', 253)]"), "10.144.3.254");
    assert!(err("[cidrSubnet('10.144.0.0/20', 24, 16)]")
        .message
        .contains("subnet index"));
    assert!(err("[parseCidr('10.144.0.0')]")
        .message
        .contains("not a valid IPv4 CIDR block"));
    assert!(err("[cidrHost('10.0.0.0/24', 254)]")
        .message
        .contains("outside the network"));
}

#[test]
fn flatten_and_shallow_merge() {
    assert_eq!(
        ev("[flatten(createArray(createArray('one', 'two'), createArray('three'), createArray('four', 'five')))]"),
        json!(["one", "two", "three", "four", "five"])
    );
    assert_eq!(
        ev("[shallowMerge(createArray(createObject('one', 'a', 'nested', createObject('x', 1)), createObject('two', 'b', 'nested', createObject('y', 2))))]"),
        json!({"one": "a", "nested": {"y": 2}, "two": "b"})
    );
}

#[test]
fn list_functions_accept_a_template_resource_name() {
    let mut st = state();
    let id = format!("{}/providers/Microsoft.Storage/storageAccounts/store", rg_id());
    st.declared.push(Declared {
        name: "store".into(),
        full_type: "Microsoft.Storage/storageAccounts".into(),
        id: id.clone(),
        api_version: "2023-01-01".into(),
        copy_name: None,
        symbolic: None,
        enabled: true,
    });
    let mut env = FakeEnv::new();
    let v = run("[listKeys('store', '2023-01-01')]", Phase::Body, &mut st, &mut env).unwrap();
    assert_eq!(v["id"], json!(id));
    assert_eq!(v["function"], "listKeys");
}

#[test]
fn unique_string_input_is_limited() {
    let long = format!("[uniqueString('{}')]", "a".repeat(20_000));
    assert!(ev(&long).is_string());
    let mut st = state();
    st.params.insert("big".into(), json!("a".repeat(131_073)));
    let e = run(
        "[uniqueString(parameters('big'))]",
        Phase::Body,
        &mut st,
        &mut FakeEnv::new(),
    )
    .unwrap_err();
    assert!(e.message.contains("TemplateLiteralLimitExceeded"), "{}", e.message);
}
