//! JSON values ⇄ DynamoDB attribute values, so item attributes stay native (and conditions on
//! them are evaluated by DynamoDB itself).

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Number, Value};

pub fn to_attr(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(to_attr).collect()),
        Value::Object(map) => AttributeValue::M(map.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()),
    }
}

pub fn from_attr(attr: &AttributeValue) -> Result<Value, String> {
    Ok(match attr {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(n) => Value::Number(parse_number(n)?),
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::L(items) => Value::Array(items.iter().map(from_attr).collect::<Result<_, _>>()?),
        AttributeValue::M(map) => Value::Object(from_map(map)?),
        other => return Err(format!("unsupported attribute type {other:?}")),
    })
}

pub fn from_map(map: &std::collections::HashMap<String, AttributeValue>) -> Result<Map<String, Value>, String> {
    map.iter().map(|(k, v)| Ok((k.clone(), from_attr(v)?))).collect()
}

fn parse_number(n: &str) -> Result<Number, String> {
    if let Ok(i) = n.parse::<i64>() {
        return Ok(i.into());
    }
    if let Ok(u) = n.parse::<u64>() {
        return Ok(u.into());
    }
    n.parse::<f64>().ok().and_then(Number::from_f64).ok_or_else(|| format!("bad number {n:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_attribute_values() {
        let value = json!({"s": "привет", "n": -42, "u": u64::MAX, "f": 1.5, "b": true, "z": null,
                           "l": [1, "two", {"three": 3}], "m": {"nested": {"deep": []}}, "e": ""});
        assert_eq!(from_attr(&to_attr(&value)).unwrap(), value);
    }
}
