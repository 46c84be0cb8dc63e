"""What a GraphQL document may cost before it runs: size, depth, aliases, fragment fan-out, introspection.

A 558-byte query nesting `cameras { lines { camera ... } }` 20 deep ran 95 s, and 200 aliases 17 s; each
limit here refuses such a document while parsing or validating, before a resolver runs.

    schema = strawberry.Schema(Query, extensions=graphql_extensions(settings))
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from functools import partial

from footfall.services.core.config import Settings
from graphql import GraphQLError
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

# Fields a document may select once its fragments are expanded (tokens bound the text, not this). The
# standard overlapping-fields rule is quadratic in repeated fields: 980 cost ~1 s of validation, 500 ~0.2 s;
# GraphiQL's introspection query selects ~230.
DEFAULT_MAX_EXPANDED_FIELDS = 500


class FragmentCycle(Exception):
    pass


def expanded_field_count(document: DocumentNode, cap: int) -> int:
    """Fields the document selects with every fragment spread expanded, counted with each fragment's size
    computed once (so `...A` twice in `B`, `...B` twice in `C`... costs linear time), stopping past `cap`.

    Raises FragmentCycle: a cycle would make the count meaningless (and the standard rules refuse it anyway).
    """
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    sizes: dict[str, int] = {}
    in_progress: set[str] = set()

    def fragment_size(name: str) -> int:
        if name in sizes:
            return sizes[name]
        if name in in_progress:
            raise FragmentCycle(name)
        if name not in fragments:
            return 0  # an unknown fragment: the standard validation rules refuse it
        in_progress.add(name)
        size = selection_size(fragments[name].selection_set)
        in_progress.discard(name)
        sizes[name] = size
        return size

    def selection_size(selection_set: SelectionSetNode | None) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += 1 + selection_size(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += selection_size(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += fragment_size(selection.name.value)
            if total > cap:
                return total
        return total

    total = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            total += selection_size(definition.selection_set)
            if total > cap:
                break
    return min(total, cap + 1)


class MaxExpandedFields(SchemaExtension):
    """Refuses a document whose fragments expand into more fields than `max_fields`, before any other rule.

    Strawberry's depth and alias limiters walk every fragment spread anew, so ~40 fragments each spreading
    the next twice would keep them busy for ever; this check comes first and, when it refuses, they never
    run (an extension that sets the validation errors stands in for the whole validation step).
    """

    def __init__(self, max_fields: int = DEFAULT_MAX_EXPANDED_FIELDS) -> None:
        self.max_fields = max_fields

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            try:
                too_many = expanded_field_count(document, self.max_fields) > self.max_fields
            except FragmentCycle as cycle:
                context.pre_execution_errors = [GraphQLError(f"Cannot spread fragment '{cycle}' within itself.")]
            else:
                if too_many:
                    message = f"Query selects more than {self.max_fields} fields once fragments are expanded"
                    context.pre_execution_errors = [GraphQLError(message)]
        yield


ExtensionFactory = Callable[[], SchemaExtension]


def graphql_extensions(settings: Settings) -> list[ExtensionFactory]:
    """The limits every gateway schema runs with, from `settings` (see the README's GraphQL settings).

    Factories, not instances: Strawberry builds fresh extensions for each operation, so concurrent
    operations never share one's state. The validating limiters are built once and each operation gets a
    shallow copy: a limiter built anew makes a new validation-rule class, which Strawberry's validation
    cache sees as a new rule set, so every request would be validated again (a third of a small query's cost).
    """
    depth = QueryDepthLimiter(max_depth=settings.graphql_max_depth)
    aliases = MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases)
    extensions: list[ExtensionFactory] = [
        partial(MaxTokensLimiter, max_token_count=settings.graphql_max_tokens),  # while parsing: bounds the rest
        MaxExpandedFields,
        partial(copy.copy, depth),
        partial(copy.copy, aliases),
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    return extensions
