//! The contract call of a template: the function, which field feeds each of
//! its parameters, and where the record hash goes in the calldata.

use std::sync::Arc;

use alloy_dyn_abi::{DynSolType, Specifier};
use alloy_json_abi::Function;
use alloy_primitives::Selector;

use super::{CallDoc, Field, Placement, SystemSource, TemplateError};

/// The resolved contract call of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The target function.
    pub function: Function,
    /// Its 4-byte selector.
    pub selector: Selector,
    /// For each parameter, the index in
    /// [`Template::fields`](super::Template::fields) that supplies it.
    pub arguments: Vec<usize>,
    /// Each parameter's resolved ABI type (parsed once, at load time).
    pub types: Vec<DynSolType>,
    /// The byte offset in the calldata of each argument filled from
    /// [`SystemSource::RecordHash`]: a one-word `bytes32` in the head of the
    /// arguments, written once the record is sealed.
    pub record_hash_at: Arc<[usize]>,
}

pub(super) fn resolve_call(doc: &mut CallDoc, fields: &[Field]) -> Result<Call, TemplateError> {
    let function = Function::parse(&doc.function).map_err(|e| TemplateError::InvalidFunction {
        signature: doc.function.clone(),
        reason: e.to_string(),
    })?;
    if function.inputs.len() != doc.arguments.len() {
        return Err(TemplateError::ArgumentCount {
            function: function.signature(),
            parameters: function.inputs.len(),
            arguments: doc.arguments.len(),
        });
    }
    let mut arguments = Vec::with_capacity(doc.arguments.len());
    let mut types = Vec::with_capacity(doc.arguments.len());
    for (param, arg) in function.inputs.iter().zip(&doc.arguments) {
        let index = fields
            .iter()
            .position(|f| f.name == *arg)
            .ok_or_else(|| TemplateError::UnknownArgument(arg.clone()))?;
        let field = fields
            .get(index)
            .ok_or_else(|| TemplateError::UnknownArgument(arg.clone()))?;
        if field.placement == Placement::Sealed {
            return Err(TemplateError::SealedArgument(arg.clone()));
        }
        let ty = param
            .resolve()
            .map_err(|e| TemplateError::InvalidFunction {
                signature: doc.function.clone(),
                reason: e.to_string(),
            })?;
        if !field.kind.fits_abi(&ty) {
            return Err(TemplateError::ArgumentType {
                field: arg.clone(),
                kind: field.kind.type_name(),
                abi_type: ty.sol_type_name().into_owned(),
            });
        }
        arguments.push(index);
        types.push(ty);
    }
    if let Some(unused) = fields
        .iter()
        .enumerate()
        .find(|(i, f)| f.placement != Placement::Sealed && !arguments.contains(i))
    {
        return Err(TemplateError::UnusedChainField(unused.1.name.clone()));
    }
    doc.function = function.full_signature();
    let selector = function.selector();
    let record_hash_at = record_hash_offsets(fields, &arguments, &types);
    Ok(Call {
        function,
        selector,
        arguments,
        types,
        record_hash_at,
    })
}

/// Where the record hash goes in the calldata: the byte offset of each
/// argument filled from [`SystemSource::RecordHash`], after the selector and
/// the head words of the arguments before it (one for a dynamic type, its
/// static size otherwise).
fn record_hash_offsets(
    fields: &[Field],
    arguments: &[usize],
    types: &[DynSolType],
) -> Arc<[usize]> {
    let mut offsets = Vec::new();
    let mut at = Selector::len_bytes();
    for (&index, ty) in arguments.iter().zip(types) {
        if fields.get(index).map(|f| f.placement)
            == Some(Placement::System(SystemSource::RecordHash))
        {
            offsets.push(at);
        }
        let head_words = if ty.is_dynamic() {
            1
        } else {
            ty.minimum_words()
        };
        at += 32 * head_words;
    }
    offsets.into()
}
